"""`agentd register`: trade an activation code for an identity, kept in the state directory.

Exit codes: EXIT_CODES, shown by `agentd register --help` and `agentd install --help`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

from agentd import host, servers, trust
from agentd.client import ControllerClient, ControllerUnreachable, Refused, TrustedCA
from agentd.config import Identity

EXIT_CODE_5 = "  5   the state directory is registered already (--force registers it again)\n"
EXIT_CODES = f"""exit codes:

  0   registered
  2   bad arguments: an unreadable --ca-file, a malformed --ca-fingerprint, a CA for http://
  3   the controller refused the registration (wrong code, expired or used-up activation...)
  4   the controller cannot be reached (no answer, a server error, TLS failing otherwise)
{EXIT_CODE_5}  6   the controller's certificate is not signed by the CA trusted (--ca-file, the
      pinned one, or the system's)
  7   the controller's certificate was issued for another host name or address
  8   the CA the controller publishes does not match --ca-fingerprint, or it publishes none
  9   an https:// URL names a port that speaks plain HTTP
  10  an http:// URL names a port that closes the connection unanswered (it speaks HTTPS)
"""
SEVERAL_SERVERS = """
With --server given several times, the next server is tried after 4 and 6 to 10, unless the
server answered (an HTTP 500 comes from the store they share); when none answers, the exit code
is the last one's.
"""
REFUSED = 3
REGISTERED_ALREADY = 5


class Request(NamedTuple):
    servers: tuple[str, ...]  # the controllers of one fleet, tried in this order
    activation_id: str
    activation_code: str
    name: str = ""
    ca_file: Path | None = None
    ca_fingerprint: str = ""
    force: bool = False

    @classmethod
    def from_args(cls, args: Any, *, force: bool) -> Request:
        """From `register`'s (or `install`'s) parsed options."""
        given = [args.server] if isinstance(args.server, str) else args.server
        return cls(
            servers.unique(given),
            args.activation_id,
            args.activation_code,
            args.name or "",
            args.ca_file,
            args.ca_fingerprint or "",
            force,
        )


def registered_as(state_dir: Path) -> str | None:
    """The instance id the state directory holds, or None when it holds no identity."""
    try:
        public = json.loads((state_dir / "agent.json").read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return "(unreadable agent.json)"
    return str(public.get("instance_id", "")) if isinstance(public, dict) else "(unknown)"


def register(request: Request, state_dir: Path) -> int:
    """Register with the first of the servers that answers, print the new instance id and keep
    it (with every server); an exit code, each failure told on stderr in one line.

    :raises ValueError: for bad arguments (exit code 2)."""
    held = registered_as(state_dir)
    if held is not None and not request.force:
        fail(f"{state_dir} is registered already, as {held}; --force registers it again")
        return REGISTERED_ALREADY
    check(request)
    for at, server in enumerate(request.servers, 1):
        try:
            ca = choose_ca(request, server)
            answer = ControllerClient(server, ca=ca).register(wire(request))
        except Refused as refusal:
            fail(f"registration refused: {refusal.code}: {refusal.message}")
            return REFUSED
        except (ControllerUnreachable, trust.NotPinned) as error:
            plain = type(error) is ControllerUnreachable  # the others say what went wrong
            # An answer such as a 500 comes from the store the controllers share: another would
            # give the same (and one that took the registration would count it twice).
            answered = isinstance(error, ControllerUnreachable) and not servers.worth_moving(error)
            onward = at < len(request.servers) and not answered
            then = f"; trying {request.servers[at]}" if onward else ""
            fail((f"cannot reach the controller: {error}" if plain else str(error)) + then)
            if then:
                continue
            return error.exit_code
        break
    # The CA first: an identity without the CA it registered under could only fail its checks.
    trust.keep(state_dir, ca)
    identity = Identity(
        request.servers, answer["instance_id"], answer["instance_name"], answer["secret"]
    )
    identity.save(state_dir)
    print(identity.instance_id)
    return 0


def check(request: Request) -> None:
    """:raises ValueError: for a server URL that is none, or a CA option with http://."""
    if not request.servers:
        raise ValueError("no --server given")
    for server in request.servers:
        ControllerClient(server)  # parses the URL
        if (request.ca_file or request.ca_fingerprint) and not server.lower().startswith(
            "https://"
        ):
            raise ValueError("--ca-file and --ca-fingerprint need an https:// controller URL")


def choose_ca(request: Request, server: str) -> TrustedCA | None:
    """The CA to trust: the file given, the one `server` publishes if it matches the
    fingerprint, or None (the system's CAs).

    :raises ValueError, NotPinned, ControllerUnreachable:"""
    if request.ca_file is not None:
        return trust.read_file(request.ca_file)
    if request.ca_fingerprint:
        return trust.pin(server, trust.parse_fingerprint(request.ca_fingerprint))
    return None


def wire(request: Request) -> dict[str, Any]:
    return {
        **host.facts().to_wire(),
        "activation_id": request.activation_id,
        "activation_code": request.activation_code,
        "instance_name": request.name,
    }


def fail(message: str) -> None:
    print(f"agentd: {message}", file=sys.stderr)
