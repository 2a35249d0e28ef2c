"""Helpers shared by the agent end-to-end tests (test_agent_*.py, test_send_file.py).

They drive real `agentd` and controller processes through the public API (the project's own
signed client), the raw agent protocol (`/agent/v1/...` with an instance id and secret) and the
host itself (files, processes, users).
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import signal
import subprocess
import time
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Agent, Controller, api, wait_for

from assistcli.api import agent as proto
from assistcli.errors import ApiError

# Per-instance statuses after which nothing changes any more (reference §3.1).
TERMINAL = frozenset(
    {"Success", "Failed", "Invalid", "Aborted", "Timeout", "Error", "Cancelled", "Terminated"}
)


# Commands ----------------------------------------------------------------------------------------
def run_script(ctl: Controller, instance_id: str, script: str, **params: Any) -> str:
    """RunCommand a shell script (PlainText) on one instance; returns the invoke id."""
    body = api(ctl).call(
        "RunCommand",
        {
            "InstanceId": [instance_id],
            "Type": "RunShellScript",
            "CommandContent": script,
            "ContentEncoding": "PlainText",
            **params,
        },
    )
    return str(body["InvokeId"])


def results(ctl: Controller, invoke_id: str, encoding: str = "PlainText") -> list[dict[str, Any]]:
    body = api(ctl).call(
        "DescribeInvocationResults", {"InvokeId": invoke_id, "ContentEncoding": encoding}
    )
    return list(body["Invocation"]["InvocationResults"]["InvocationResult"])


def result(ctl: Controller, invoke_id: str, encoding: str = "PlainText") -> dict[str, Any]:
    """The one result record of a single-instance invocation."""
    [row] = results(ctl, invoke_id, encoding)
    return row


def wait_status(
    ctl: Controller,
    invoke_id: str,
    statuses: Collection[str] = TERMINAL,
    timeout: float = 15.0,
    encoding: str = "PlainText",
) -> dict[str, Any]:
    """Poll the result record until its InvocationStatus is one of `statuses`; returns it."""

    def reached() -> dict[str, Any] | None:
        row = result(ctl, invoke_id, encoding)
        return row if row["InvocationStatus"] in statuses else None

    row: dict[str, Any] = wait_for(reached, timeout, f"{invoke_id} to reach {sorted(statuses)}")
    return row


def run_and_wait(
    ctl: Controller, instance_id: str, script: str, timeout: float = 15.0, **params: Any
) -> dict[str, Any]:
    return wait_status(ctl, run_script(ctl, instance_id, script, **params), timeout=timeout)


def invocation(ctl: Controller, invoke_id: str) -> dict[str, Any]:
    body = api(ctl).call("DescribeInvocations", {"InvokeId": invoke_id})
    [found] = body["Invocations"]["Invocation"]
    return dict(found)


def expect_api_error(code: str, action: str, ctl: Controller, params: dict[str, Any]) -> ApiError:
    """Call `action` and require it to fail with `code`."""
    with pytest.raises(ApiError) as caught:
        api(ctl).call(action, params)
    assert caught.value.code == code, f"{action}: expected {code}, got {caught.value}"
    return caught.value


# Registration and the raw agent protocol ---------------------------------------------------------
def read_secret(state_dir: Path) -> str:
    return (state_dir / "secret").read_text().strip()


def agent_post(
    ctl: Controller, path: str, instance_id: str, secret: str, body: dict[str, Any]
) -> requests.Response:
    """A raw agent-protocol request, as an agent (or an impostor) would send it."""
    return requests.post(
        ctl.url.rstrip("/") + path,
        json=body,
        headers={proto.INSTANCE_HEADER: instance_id, "Authorization": f"Bearer {secret}"},
        timeout=10,
    )


def forged_report(invoke_id: str, output: bytes = b"forged\n") -> proto.Report:
    """A report that would end `invoke_id` in Success, were it accepted."""
    return proto.Report(
        invoke_id=invoke_id,
        seq=0,
        event="finished",
        time=time.time(),
        output=output,
        status="Success",
        exit_code=0,
    )


# Processes ---------------------------------------------------------------------------------------
def pid_gone(pid: int) -> bool:
    """True when `pid` no longer runs: no such process, or a zombie nobody has reaped yet.

    An orphaned grandchild is re-parented to PID 1; where PID 1 does not reap, a killed one stays
    a zombie, which runs nothing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def read_pid(path: Path, timeout: float = 10.0) -> int:
    """The pid a script wrote to `path` (waits for it)."""

    def written() -> int | None:
        text = path.read_text().strip() if path.exists() else ""
        return int(text) if text.isdigit() else None

    return int(wait_for(written, timeout, f"a pid in {path}"))


def kill_group(pid: int) -> None:
    """Clean up a script's process group (scripts run as session leaders); never fails."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


# Disks -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def small_disk(path: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` while the block runs (root only: skips otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    argv = ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)


def fill(disk: Path) -> Path:
    """Write to `disk` until it has no room left; returns the file that fills it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            os.write(fd, bytes(4096))
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


def put_state_on(agent: Agent, disk: Path) -> None:
    """Restart `agent` with its outbox and ledger on `disk` (both empty: nothing has run yet)."""
    assert agent.stop() == 0
    for name in ("outbox", "ledger"):
        (agent.state_dir / name).rmdir()
        (disk / name).mkdir()
        (agent.state_dir / name).symlink_to(disk / name)
    agent.start()


def run_into_a_full_disk(
    ctl: Controller, agent: Agent, disk: Path, script: str = "", **params: Any
) -> tuple[str, Path]:
    """Run a script that prints `before`, waits until `disk` (the agent's state, see
    put_state_on) is full, prints `after` (which finds no room) and runs `script`, then sleeps.
    Returns its invoke id and the file that fills the disk."""
    gate = disk.parent / f"{disk.name}.full"
    text = f"echo before; while [ ! -e {gate} ]; do sleep 0.05; done; echo after; {script}\n"
    invoke_id = run_script(ctl, agent.instance_id, text + "sleep 300", **params)
    wait_for(lambda: result(ctl, invoke_id)["Output"] == "before\n", 5, "the first output")
    filler = fill(disk)
    gate.touch()
    wait_for(lambda: "could not write its state" in agent.log(), 5, "a write the disk refused")
    return invoke_id, filler


# Users -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def system_user() -> Iterator[pwd.struct_passwd]:
    """A fresh local user with a home directory and a group of its own (root only)."""
    if os.geteuid() != 0:
        pytest.skip("creating users needs root")
    name = f"asst{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "-m", "-U", "-s", "/bin/sh", name], check=True, timeout=30)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", "-r", name], check=False, capture_output=True, timeout=30)
