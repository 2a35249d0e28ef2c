"""Which CA the agent trusts for an https:// controller, kept in STATE_DIR/ca.pem.

Either the administrator hands it over (`--ca-file`), or the agent pins it on first contact, as
`kubeadm join` does (`--ca-fingerprint`): it fetches the CA the controller publishes, over TLS
it cannot check yet, and trusts it only if its SHA-256 is the one it was given. Without either,
the system's trust store decides.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import ssl
from pathlib import Path

from agentd.client import ControllerClient, Refused, TrustedCA, tls_context, unverified_context
from agentd.config import write_private
from assistcli.api import agent as proto

FILENAME = "ca.pem"
CA_PATH = f"{proto.PREFIX}/ca.pem"
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_FINGERPRINT = re.compile(r"(?:sha256:)?((?:[0-9a-f]{2}:?){31}[0-9a-f]{2})")


class NotPinned(Exception):
    """The controller's CA does not match the fingerprint given, or it publishes none."""

    exit_code = 8


def parse_fingerprint(text: str) -> str:
    """`sha256:HEX` as 64 lower-case hex digits; any case, colons between bytes or none.

    :raises ValueError: for anything else."""
    found = _FINGERPRINT.fullmatch(text.strip().lower())
    if not found:
        raise ValueError(f"--ca-fingerprint {text!r} is not sha256:<64 hex digits>")
    return found[1].replace(":", "")


def read_file(path: Path) -> TrustedCA:
    """The CA in `path` (--ca-file); :raises ValueError: unreadable, or no certificate in it."""
    try:
        ca = TrustedCA(path.read_text(), f"the CA in {path}")
        tls_context(ca)
    except OSError as error:
        raise ValueError(f"--ca-file {path}: {error.strerror or error}") from None
    except ValueError:  # not text, or no certificate in it
        raise ValueError(f"--ca-file {path} holds no PEM certificate") from None
    return ca


def pin(server: str, fingerprint: str) -> TrustedCA:
    """The CA `server` publishes, if its first certificate's SHA-256 is `fingerprint` (hex).

    :raises NotPinned: it is another, or there is none;
    :raises ControllerUnreachable: (and its kinds) as any request."""
    client = ControllerClient(server, context=unverified_context())
    try:
        published = client.get(CA_PATH).decode("ascii", "replace")
    except Refused as refusal:
        raise NotPinned(
            f"the controller at {server.rstrip('/')} publishes no CA at {CA_PATH} (HTTP "
            f"{refusal.status}); give its CA with --ca-file"
        ) from None
    finally:
        client.close()
    first = _PEM.search(published)
    pem = first[0] if first else ""
    try:
        got = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    except ValueError:  # no PEM block, or one that is not base64
        raise NotPinned(
            f"what the controller at {server.rstrip('/')} publishes as its CA is no certificate"
        ) from None
    if not hmac.compare_digest(got, fingerprint):
        raise NotPinned(
            f"the CA the controller at {server.rstrip('/')} publishes does not match "
            f"--ca-fingerprint: expected sha256:{fingerprint}, got sha256:{got}; not trusting it"
        )
    # Only the certificate the fingerprint vouches for, nothing else sent along with it.
    return TrustedCA(pem + "\n", "the CA pinned by --ca-fingerprint")


def kept(state_dir: Path) -> TrustedCA | None:
    """The CA registration kept in the state directory, or None: the system's CAs decide."""
    path = state_dir / FILENAME
    try:
        return TrustedCA(path.read_text(), f"the CA in {path}")
    except FileNotFoundError:
        return None


def keep(state_dir: Path, ca: TrustedCA | None) -> None:
    """Make `ca` the one the agent trusts from now on (None: the system's CAs)."""
    path = state_dir / FILENAME
    if ca is None:
        path.unlink(missing_ok=True)
    else:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(path, ca.pem.encode())
