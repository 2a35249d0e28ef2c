"""`assistcli controller start|stop|status`: the local controller in the background.

Everything lives in the data directory: the database, `controller.log`, `controller.pid`, and
`controller.endpoint`, which tells the CLI's embedded default where the controller listens.
`start` also creates the local key (`local-key.json`) the CLI signs with when nothing is
configured.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import click

from assistcli.cli.controller import DATA_DIR, parse_listen
from assistcli.cli.exits import CliError, ExitCode
from assistcli.cli.local import (
    LOG_FILE,
    clear_state,
    listening,
    local_key,
    read_pid,
    start_controller,
    stop_local_agent,
    write_state,
)
from assistcli.config import DEFAULT_ENDPOINT, local_endpoint

STOP_TIMEOUT = 10.0

LISTEN = click.option(
    "--listen",
    default=DEFAULT_ENDPOINT,
    show_default=True,
    help="Address to serve the API on, HOST:PORT.",
)


def launch(listen: str, data_dir: Path) -> int:
    """Start the controller in the background with its local key; returns its pid."""
    host, port = parse_listen(listen)
    if listening(host, port):
        raise CliError(
            f"{listen} is already in use by another program",
            tip="Stop it, or pick another address with --listen HOST:PORT.",
        )
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    local_key(data_dir)
    process = start_controller(host, port, data_dir, detach=True)
    write_state(data_dir, process.pid, listen)
    return process.pid


@click.command()
@LISTEN
@DATA_DIR
def start(listen: str, data_dir: Path) -> None:
    """Start the controller in the background (data, log and pid file in the data directory)."""
    pid = read_pid(data_dir)
    if pid is not None:
        click.echo(f"The controller is already running (pid {pid}) on {local_endpoint(data_dir)}.")
        return
    pid = launch(listen, data_dir)
    click.echo(f"Controller started (pid {pid}), serving http://{listen}/")
    click.echo(f"  data: {data_dir}\n  log:  {data_dir / LOG_FILE}")
    click.echo("Stop it with `assistcli controller stop`.")


@click.command()
@DATA_DIR
def stop(data_dir: Path) -> None:
    """Stop the background controller (and the local agent `quickstart` started)."""
    if stop_local_agent(data_dir):
        click.echo("Local agent stopped.")
    pid = read_pid(data_dir)
    if pid is None:
        clear_state(data_dir)
        click.echo("The controller is not running.")
        return
    os.kill(pid, signal.SIGTERM)
    if not _exited(pid, data_dir, STOP_TIMEOUT):
        os.kill(pid, signal.SIGKILL)
        _exited(pid, data_dir, STOP_TIMEOUT)
    clear_state(data_dir)
    click.echo(f"Controller stopped (pid {pid}).")


def _exited(pid: int, data_dir: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while read_pid(data_dir) == pid:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@click.command()
@DATA_DIR
def status(data_dir: Path) -> None:
    """Say whether the background controller runs (exit status 1 when it does not)."""
    pid = read_pid(data_dir)
    if pid is None:
        click.echo("The controller is not running. Start it with `assistcli controller start`.")
        raise click.exceptions.Exit(ExitCode.ERROR)
    endpoint = local_endpoint(data_dir)
    host, port = parse_listen(endpoint)
    state = "answering" if listening(host, port) else "NOT answering"
    click.echo(f"The controller is running (pid {pid}), {state} on {endpoint}.")
    click.echo(f"  data: {data_dir}\n  log:  {data_dir / LOG_FILE}")
    if state != "answering":
        raise click.exceptions.Exit(ExitCode.ERROR)
