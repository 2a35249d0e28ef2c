"""The local controller: its key, its process, and whether something listens on its port.

Shared by `assistcli quickstart` and `assistcli controller start|stop|status`: a controller in
the background with a pid file, and the local agent `quickstart` registers for this machine
(its state in DATA_DIR/agent, its pid in DATA_DIR/agent/agentd.pid).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import click

from assistcli.config import ENDPOINT_FILE, LOCAL_KEY_FILE

LOG_FILE = "controller.log"
PID_FILE = "controller.pid"
START_TIMEOUT = 20.0


def local_key(data_dir: Path) -> dict[str, str]:
    """The key the local CLI signs with, created on first use and kept 0600 in the data dir."""
    from assistcli.cli.store import StoreLocation, with_store

    path = data_dir / LOCAL_KEY_FILE
    if path.exists():
        keys: dict[str, str] = json.loads(path.read_text())
        return keys
    from assistcli.controller.ids import new_access_key

    key_id, secret = new_access_key()
    keys = {"AccessKeyId": key_id, "AccessKeySecret": secret}
    with_store(
        StoreLocation(data_dir),
        lambda store: store.add_access_key(
            keys["AccessKeyId"], keys["AccessKeySecret"], time.time()
        ),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle)
    return keys


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_controller(
    host: str, port: int, data_dir: Path, *, detach: bool = False
) -> subprocess.Popen[bytes]:
    """`assistcli controller serve` in a child process, once it accepts connections.

    `detach` starts it in its own session, so it outlives this process and the terminal; a
    daemon thread waits for it, so it never lingers as a zombie of a long-lived caller.
    """
    with (data_dir / LOG_FILE).open("ab") as log:
        command = [sys.executable, "-m", "assistcli", "controller", "serve"]
        command += ["--listen", f"{host}:{port}", "--data-dir", str(data_dir)]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not listening(host, port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise click.ClickException(f"the controller did not start; see {data_dir / LOG_FILE}")
        time.sleep(0.05)
    if detach:
        threading.Thread(target=process.wait, name="controller-reaper", daemon=True).start()
    return process


def read_pid(data_dir: Path) -> int | None:
    """The pid in the pid file, if it names a live controller process."""
    try:
        pid = int((data_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_controller(pid) else None


def _is_controller(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process reuses the pid
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():  # no /proc (macOS): trust the pid file
        return True
    try:  # Linux: make sure the pid was not reused by another program
        words = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return b"controller" in words and b"serve" in words


def write_state(data_dir: Path, pid: int, endpoint: str) -> None:
    (data_dir / PID_FILE).write_text(f"{pid}\n")
    (data_dir / ENDPOINT_FILE).write_text(f"{endpoint}\n")


def clear_state(data_dir: Path) -> None:
    for name in (PID_FILE, ENDPOINT_FILE):
        (data_dir / name).unlink(missing_ok=True)


AGENT_DIR = "agent"
AGENT_PID = "agentd.pid"


def local_agent_pid(data_dir: Path) -> int | None:
    """The pid of the local agent, if it runs."""
    try:
        pid = int((data_dir / AGENT_DIR / AGENT_PID).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start_local_agent(data_dir: Path) -> int:
    """`agentd run` for this machine, in the background; returns its pid."""
    state = data_dir / AGENT_DIR
    with (state / "agentd.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentd", "run", "--state-dir", str(state)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    threading.Thread(target=process.wait, name="agent-reaper", daemon=True).start()
    (state / AGENT_PID).write_text(f"{process.pid}\n")
    return process.pid


def stop_local_agent(data_dir: Path) -> bool:
    pid = local_agent_pid(data_dir)
    if pid is None:
        return False
    os.kill(pid, 15)  # SIGTERM: the agent finishes its tasks and flushes its outbox
    deadline = time.monotonic() + 30
    while local_agent_pid(data_dir) == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    (data_dir / AGENT_DIR / AGENT_PID).unlink(missing_ok=True)
    return True
