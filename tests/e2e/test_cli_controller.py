"""`assistcli controller start|stop|status`, and the embedded default that talks to it."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator

import pytest
from conftest import free_port
from test_cli_support import Cli

from assistcli.cli.local import PID_FILE

pytest_plugins = ["test_cli_support"]  # the cli and cli_on fixtures


@pytest.fixture
def local(cli: Cli) -> Iterator[Cli]:
    """A CLI whose background controller is killed however the test ends."""
    yield cli
    pid_file = cli.data_dir / PID_FILE
    if pid_file.exists():
        pid = int(pid_file.read_text())
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def test_start_status_call_stop(local: Cli) -> None:
    listen = f"127.0.0.1:{free_port()}"
    started = local.ok("controller", "start", "--listen", listen).stdout
    assert f"serving http://{listen}/" in started and str(local.data_dir) in started
    assert "already running" in local.ok("controller", "start", "--listen", listen).stdout
    status = local.ok("controller", "status").stdout
    assert f"answering on {listen}" in status
    # Nothing configured: the CLI finds the local controller and its key by itself.
    assert local.json("ecs", "DescribeCommands", "--PageSize", "1")["PageSize"] == 1
    assert oct((local.data_dir / "local-key.json").stat().st_mode & 0o777) == "0o600"
    assert "Controller stopped" in local.ok("controller", "stop").stdout
    stopped = local("controller", "status")
    assert stopped.exit_code == 1 and "not running" in stopped.stdout
    assert "not running" in local.ok("controller", "stop").stdout


def test_a_taken_port_is_reported(local: Cli) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        result = local("controller", "start", "--listen", listen)
    assert result.exit_code == 1
    assert f"ERROR: {listen} is already in use by another program" in result.stderr
