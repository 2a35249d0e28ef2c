"""`assistcli controller install-command`: the one line that installs an agent on a new machine,
as Cloud Assistant's console prints it for an activation.

The machine has nothing yet to trust the controller's private CA with, so the line carries it:
curl checks the controller's key against a pin of it (`--pinnedpubkey`; `--insecure` only skips
the CA check curl could not make), and the agent it downloads checks the CA it fetches against
the CA's fingerprint (`--ca-fingerprint`) before it registers. Several controllers of one fleet
(docs/scale-out.md) share their TLS files, so one pin and one fingerprint serve them all: the
line downloads from the first that answers and gives the agent every one.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import urlsplit

import click

from assistcli.cli.exits import CliError
from assistcli.cli.store import DATA_DIR

DOWNLOAD = "/agent/v1/download/agentd.pyz"
PLAIN_HTTP = (
    "WARNING: {servers} plain HTTP: the agent is downloaded and registered unencrypted and "
    "unauthenticated, so anyone on the network path can read the activation code or replace "
    "the agent. Serve HTTPS (`assistcli controller tls init`) for machines beyond this one."
)


@click.command("install-command")
@click.option(
    "--server",
    "servers",
    required=True,
    multiple=True,
    help="The controller's URL as the new machine reaches it. Repeat it for each controller "
    "of a fleet that shares one store: the agent fails over between them.",
)
@click.option("--activation-id", required=True, help="From CreateActivation.")
@click.option("--activation-code", required=True, help="From CreateActivation.")
@DATA_DIR
def install_command(
    servers: tuple[str, ...], activation_id: str, activation_code: str, data_dir: Path
) -> None:
    """Print the shell line that downloads the one-file agent from the controller, then installs
    and registers it (run it as a user who may sudo). For https:// servers it pins the
    certificate and CA in DATA_DIR/tls/."""
    checked = list(dict.fromkeys(_checked_server(server) for server in servers))
    schemes = {urlsplit(server).scheme for server in checked}
    if len(schemes) > 1:
        raise click.BadParameter(
            "every server of a fleet is https:// or none is", param_hint="--server"
        )
    register = [word for server in checked for word in ("--server", server)]
    register += ["--activation-id", activation_id, "--activation-code", activation_code]
    pin = None
    if schemes == {"https"}:
        pin, fingerprint = _pins(data_dir)
        register += ["--ca-fingerprint", fingerprint]
    else:
        named = ", ".join(checked) + (" is" if len(checked) == 1 else " are")
        click.echo(PLAIN_HTTP.format(servers=named), err=True)
    click.echo(install_line(checked, register, pin))


def install_line(servers: list[str], register: list[str], pin: str | None) -> str:
    """Download into a fresh private directory (a fixed name in /tmp could be planted by another
    user), from the first server that answers, then run the agent's installer as root."""
    curl = ["curl", "-fsS"]
    if pin is not None:
        curl += ["--insecure", "--pinnedpubkey", pin]
    fetches = [_shell([*curl, "-o", "$d/agentd.pyz", server + DOWNLOAD]) for server in servers]
    fetch = fetches[0] if len(fetches) == 1 else "{ " + " || ".join(fetches) + "; }"
    agent = ["sudo", "python3", "$d/agentd.pyz", "install", *register]
    return f"d=$(mktemp -d) && {fetch} && {_shell(agent)}"


def _shell(words: list[str]) -> str:
    """Words quoted for a POSIX shell; `$d` (the download directory) is left to expand."""
    return " ".join(
        '"$d' + word[2:] + '"' if word.startswith("$d/") else shlex.quote(word) for word in words
    )


def _checked_server(server: str) -> str:
    url = urlsplit(server)
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
        raise click.BadParameter(
            f"expected http(s)://HOST:PORT, got {server!r}", param_hint="--server"
        )
    return f"{url.scheme}://{url.netloc}"


def _pins(data_dir: Path) -> tuple[str, str]:
    """The pin of the certificate the controller serves (its public key) and the fingerprint
    of its CA, from DATA_DIR/tls/."""
    from assistcli.controller import tls

    files = tls.TlsFiles.of(data_dir)
    try:
        cert, ca = files.cert.read_bytes(), files.ca.read_bytes()
    except FileNotFoundError as error:
        raise CliError(
            f"{error.filename} does not exist: an https:// server needs the controller's TLS files",
            tip="Give the controller's --data-dir, or make them: assistcli controller tls init.",
        ) from None
    return tls.public_key_pin(cert), tls.fingerprint(ca)
