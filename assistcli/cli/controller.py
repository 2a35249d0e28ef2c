"""`assistcli controller ...`: run and administer the controller."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from assistcli.cli.lazy import LazyGroup
from assistcli.controller.settings import (
    AGENT_KEEPALIVE,
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    TlsPair,
)
from assistcli.paths import data_dir as default_data_dir

if TYPE_CHECKING:
    from assistcli.controller.store import Store

T = TypeVar("T")

DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_data_dir,
    show_default="$XDG_DATA_HOME/assist",
    help="Directory holding the controller's database.",
)


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPv6]:PORT`."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def with_store(data_dir: Path, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the controller's store, run `work`, close it."""
    from assistcli.controller.store import open_store

    async def run() -> T:
        store = open_store(None, data_dir)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


# In the background, with a pid file (cli/daemon.py, imported when used).
BACKGROUND = {
    "start": ("assistcli.cli.daemon:start", "Start the controller in the background."),
    "stop": ("assistcli.cli.daemon:stop", "Stop the background controller."),
    "status": ("assistcli.cli.daemon:status", "Say whether the background controller runs."),
}


@click.group(cls=LazyGroup, lazy=BACKGROUND)
def controller() -> None:
    """Run and administer the Cloud Assistant controller."""


@controller.command()
@click.option(
    "--listen",
    default="127.0.0.1:8742",
    show_default=True,
    help="Address to serve the API on, HOST:PORT.",
)
@DATA_DIR
@click.option("--store", "store_url", help="Store URL (default: SQLite in the data directory).")
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
def serve(
    listen: str,
    data_dir: Path,
    store_url: str | None,
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
) -> None:
    """Serve the Cloud Assistant API in the foreground until interrupted: over HTTPS when a
    certificate is given or DATA_DIR/tls/ holds one, else over plain HTTP."""
    from assistcli.controller.server import serve as run_server
    from assistcli.controller.settings import Settings

    host, port = parse_listen(listen)
    if store_url and not store_url.startswith("sqlite:///"):
        raise click.BadParameter("only sqlite:///PATH stores are supported", param_hint="--store")
    run_server(
        Settings(
            data_dir=data_dir,
            host=host,
            port=port,
            store_url=store_url,
            delivery_timeout=delivery_timeout,
            lease=delivery_lease,
            agent_keepalive=agent_keepalive,
            client_token_stale=client_token_stale,
            head_timeout=head_timeout,
            body_timeout=body_timeout,
            idle_timeout=idle_timeout,
            max_connections=max_connections,
            tls=None if no_tls else tls_pair(data_dir, tls_cert, tls_key),
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


@controller.group("access-key")
def access_key() -> None:
    """Manage the API keys that sign requests."""


@access_key.command("create")
@DATA_DIR
def create_access_key(data_dir: Path) -> None:
    """Create an API key pair and print it once, as JSON."""
    from assistcli.controller.ids import new_access_key

    key_id, secret = new_access_key()
    with_store(data_dir, lambda store: store.add_access_key(key_id, secret, time.time()))
    click.echo(json.dumps({"AccessKeyId": key_id, "AccessKeySecret": secret}, indent=2))


@controller.group("instance")
def instance() -> None:
    """Manage instances directly in the store (agents register themselves with agentd)."""


@instance.command("add")
@DATA_DIR
@click.option("--name", default=socket.gethostname, help="Instance name.")
@click.option("--instance-id", help="Use this ID instead of a new mi-... one.")
def add_instance(data_dir: Path, name: str, instance_id: str | None) -> None:
    """Register an instance record and print its ID."""
    from assistcli.controller.ids import new_id
    from assistcli.controller.models import Instance

    record = Instance(
        instance_id=instance_id or new_id("mi-"),
        instance_name=name,
        registration_time=time.time(),
    )
    with_store(data_dir, lambda store: store.add_instance(record))
    click.echo(record.instance_id)
