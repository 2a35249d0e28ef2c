"""`assistcli controller ...`: run and administer the controller."""

from __future__ import annotations

from pathlib import Path

import click

from assistcli.cli.lazy import LazyGroup
from assistcli.cli.store import DATA_DIR, StoreLocation, check_store, store_options
from assistcli.cli.units import ByteSize, Duration
from assistcli.controller.settings import (
    AGENT_KEEPALIVE,
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    TlsPair,
)

__all__ = ["DATA_DIR", "controller", "parse_listen"]


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPv6]:PORT`."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


# Imported when used: the background controller (cli/daemon.py), the store's administration,
# the systemd service and the agents' install line.
LAZY = {
    "start": ("assistcli.cli.daemon:start", "Start the controller in the background."),
    "stop": ("assistcli.cli.daemon:stop", "Stop the background controller."),
    "status": ("assistcli.cli.daemon:status", "Say whether the background controller runs."),
    "access-key": ("assistcli.cli.access_keys:access_key", "Manage the API keys."),
    "instance": ("assistcli.cli.instances:instance", "List, add and remove instances."),
    "install": ("assistcli.cli.service:install", "Run the controller as a systemd service."),
    "uninstall": ("assistcli.cli.service:uninstall", "Remove the controller's systemd service."),
    "install-command": (
        "assistcli.cli.install_command:install_command",
        "Print the line that installs and registers an agent on a new machine.",
    ),
}


@click.group(cls=LazyGroup, lazy=LAZY)
def controller() -> None:
    """Run and administer the Cloud Assistant controller."""


@controller.command()
@click.option(
    "--listen",
    default="127.0.0.1:8742",
    show_default=True,
    help="Address to serve the API on, HOST:PORT.",
)
@store_options
@click.option(
    "--delivery-timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds an instance has to pick up a task before it ends Aborted (DeliveryTimeout).",
)
@click.option(
    "--delivery-lease",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds a delivered task may go unacknowledged (its agent neither reports it started "
    "nor says it holds it) before it is delivered again.",
)
@click.option(
    "--agent-keepalive",
    type=click.FloatRange(min=0.1),
    default=AGENT_KEEPALIVE,
    show_default=True,
    help="Seconds between the newlines that keep an agent's long poll alive through proxies; "
    "keep it below the shortest idle timeout between agents and the controller (60 s for "
    "nginx and most load balancers, 15 s for some).",
)
@click.option(
    "--client-token-stale",
    type=click.FloatRange(min=1.0),
    default=60.0,
    show_default=True,
    help="Seconds after which a ClientToken whose request never finished (the controller died "
    "mid-request, writing nothing) may be used again: the retry then runs afresh.",
)
@click.option(
    "--head-timeout",
    type=click.FloatRange(min=0.1),
    default=HEAD_TIMEOUT,
    show_default=True,
    help="Seconds a client has to send a request's head: from the connection's accept for its "
    "first request, from its first byte for a later one. A slower client is disconnected.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0.1),
    default=BODY_TIMEOUT,
    show_default=True,
    help="Seconds a client has to send a request's body once its head is in.",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0.1),
    default=IDLE_TIMEOUT,
    show_default=True,
    help="Seconds a kept-alive connection may wait for its next request before it is closed.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=MAX_CONNECTIONS,
    show_default=True,
    help="Connections served at once (each agent holds one); a request on one past the limit "
    "is answered 503 ServiceUnavailable.",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve HTTPS with this PEM certificate (chain). Default: DATA_DIR/tls/server.pem when "
    "it exists (see `controller tls init`).",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The certificate's PEM private key. Default: DATA_DIR/tls/server-key.pem.",
)
@click.option(
    "--no-tls",
    is_flag=True,
    help="Serve plain HTTP even when DATA_DIR/tls/ holds a certificate.",
)
@click.option(
    "--docs-url",
    default="",
    metavar="URL",
    help="Where error bodies' Recommend links point, URL#CODE (e.g. your copy of docs/api.md). "
    "Default: this controller's own page of error codes, /docs/errors.",
)
@click.option(
    "--legacy-result-lists",
    is_flag=True,
    help="DescribeInvocationResults also answers the 2017 shape, Invocation.ResultLists."
    "ResultItem, for scripts that read it (a second copy of every Output).",
)
@click.option(
    "--output-cap",
    type=ByteSize(),
    default="16MiB",
    show_default=True,
    help="Bytes of each run's whole output kept (assistcli output reads them); beyond it, "
    "records still show the output's head and tail. 0 keeps only those.",
)
@click.option(
    "--output-retention",
    type=Duration(),
    default="7d",
    show_default=True,
    help="How long kept output is kept: seconds, or with s, m, h or d.",
)
def serve(
    listen: str,
    where: StoreLocation,
    delivery_timeout: float,
    delivery_lease: float,
    agent_keepalive: float,
    client_token_stale: float,
    head_timeout: float,
    body_timeout: float,
    idle_timeout: float,
    max_connections: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    no_tls: bool,
    docs_url: str,
    legacy_result_lists: bool,
    output_cap: int,
    output_retention: float,
) -> None:
    """Serve the Cloud Assistant API in the foreground until interrupted: over HTTPS when a
    certificate is given or DATA_DIR/tls/ holds one, else over plain HTTP."""
    from assistcli.controller.server import serve as run_server
    from assistcli.controller.settings import Settings

    host, port = parse_listen(listen)
    data_dir = where.data_dir
    check_store(where)
    run_server(
        Settings(
            data_dir=data_dir,
            host=host,
            port=port,
            store_url=where.url,
            delivery_timeout=delivery_timeout,
            lease=delivery_lease,
            agent_keepalive=agent_keepalive,
            client_token_stale=client_token_stale,
            head_timeout=head_timeout,
            body_timeout=body_timeout,
            idle_timeout=idle_timeout,
            max_connections=max_connections,
            tls=None if no_tls else tls_pair(data_dir, tls_cert, tls_key),
            docs_url=docs_url.rstrip("#"),
            legacy_result_lists=legacy_result_lists,
            output_cap=output_cap,
            output_retention=output_retention,
        )
    )


def tls_pair(data_dir: Path, cert: Path | None, key: Path | None) -> TlsPair | None:
    """The certificate and key to serve with: both given, or both found in DATA_DIR/tls/."""
    if cert is None and key is None:
        found = TlsPair(data_dir / "tls" / "server.pem", data_dir / "tls" / "server-key.pem")
        return found if found.cert.is_file() and found.key.is_file() else None
    if cert is None or key is None:
        raise click.UsageError("--tls-cert and --tls-key go together")
    return TlsPair(cert, key)


@controller.group("tls")
def tls() -> None:
    """Make the private CA and the certificate the controller serves HTTPS with."""


@tls.command("init")
@DATA_DIR
@click.option(
    "--host",
    "hosts",
    multiple=True,
    required=True,
    help="A name or IP address agents and clients reach the controller by (repeatable).",
)
def tls_init(data_dir: Path, hosts: tuple[str, ...]) -> None:
    """Create a private CA (kept if there is one) and a server certificate it signs, in
    DATA_DIR/tls/. Agents trust the CA with `agentd register --ca-file` or its fingerprint."""
    from assistcli.controller import tls as certs

    try:
        files = certs.init(data_dir, list(hosts))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--host") from None
    click.echo(f"CA certificate:     {files.ca}")
    click.echo(f"CA fingerprint:     {certs.fingerprint(files.ca.read_bytes())}")
    click.echo(f"Server certificate: {files.cert} (for {', '.join(hosts)})")
