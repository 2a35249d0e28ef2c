"""`assistcli controller install-command`: the one line that installs an agent on a new machine,
as Cloud Assistant's console prints it for an activation.

The machine has nothing yet to trust the controller's private CA with, so the line carries it:
curl checks the controller's key against a pin of it (`--pinnedpubkey`; `--insecure` only skips
the CA check curl could not make), and the agent it downloads checks the CA it fetches against
the CA's fingerprint (`--ca-fingerprint`) before it registers.
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
    "WARNING: {server} is plain HTTP: the agent is downloaded and registered unencrypted and "
    "unauthenticated, so anyone on the network path can read the activation code or replace "
    "the agent. Serve HTTPS (`assistcli controller tls init`) for machines beyond this one."
)


@click.command("install-command")
@click.option("--server", required=True, help="The controller's URL as the new machine reaches it.")
@click.option("--activation-id", required=True, help="From CreateActivation.")
@click.option("--activation-code", required=True, help="From CreateActivation.")
@DATA_DIR
def install_command(server: str, activation_id: str, activation_code: str, data_dir: Path) -> None:
    """Print the shell line that downloads the one-file agent from the controller, then installs
    and registers it (run it as a user who may sudo). For an https:// server it pins the
    certificate and CA in DATA_DIR/tls/."""
    server = _checked_server(server)
    register = ["--server", server, "--activation-id", activation_id]
    register += ["--activation-code", activation_code]
    pin = None
    if server.startswith("https://"):
        pin, fingerprint = _pins(data_dir)
        register += ["--ca-fingerprint", fingerprint]
    else:
        click.echo(PLAIN_HTTP.format(server=server), err=True)
    click.echo(install_line(server, register, pin))


def install_line(server: str, register: list[str], pin: str | None) -> str:
    """Download into a fresh private directory (a fixed name in /tmp could be planted by another
    user), then run the agent's installer as root."""
    curl = ["curl", "-fsS"]
    if pin is not None:
        curl += ["--insecure", "--pinnedpubkey", pin]
    curl += ["-o", "$d/agentd.pyz", server + DOWNLOAD]
    agent = ["sudo", "python3", "$d/agentd.pyz", "install", *register]
    return f"d=$(mktemp -d) && {_shell(curl)} && {_shell(agent)}"


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
