"""A run's processes are killed with it, even those that left its session: both ways agentd finds
them (a cgroup per run where cgroup v2 is writable; elsewhere, tracking by an environment
cookie), with real scripts, through the executor."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import pid_gone, read_pid
from conftest import wait_for

from agentd import cgroups
from agentd.executor import Execution, abandon
from agentd.outcome import Outcome
from assistcli.api.agent import Task

# Two processes that leave the script's session: one `setsid`, one daemonised (its parent exits
# at once, so it is nobody's descendant any more).
ESCAPE = (
    "setsid sleep 600 >/dev/null 2>&1 & echo $! > {dir}/setsid.pid\n"
    "setsid sh -c 'sleep 600 >/dev/null 2>&1 & echo $! > {dir}/daemon.pid' &\n"
)


@pytest.fixture(params=["cgroup", "tracking"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "tracking":
        monkeypatch.setenv("AGENTD_CGROUPS", "0")
    cgroups.home.cache_clear()
    if request.param == "cgroup" and cgroups.home() is None:
        pytest.skip("no writable cgroup v2 hierarchy here (agentd must be root)")
    yield str(request.param)
    cgroups.home.cache_clear()


class Run:
    """An Execution in a thread of its own, as the agent runs it."""

    def __init__(self, script: str, **task: object) -> None:
        self.execution = Execution(
            Task(invoke_id="t-tree", script=script.encode(), **task),  # type: ignore[arg-type]
            ["sh"],
        )
        self.records: list[dict[str, str]] = []
        self.outcome: Outcome | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.outcome = self.execution.run(
            on_start=lambda at: None, emit=lambda data: None, on_record=self.records.append
        )

    def result(self, timeout: float = 15.0) -> Outcome:
        self.thread.join(timeout)
        assert self.outcome is not None, "the run did not end"
        return self.outcome


def escaped(tmp_path: Path) -> list[int]:
    return [read_pid(tmp_path / "setsid.pid"), read_pid(tmp_path / "daemon.pid")]


def all_gone(pids: list[int]) -> None:
    try:
        wait_for(lambda: all(pid_gone(pid) for pid in pids), 5, f"{pids} to be killed")
    finally:
        kill(pids)


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_timeout_kills_what_left_the_session(mode: str, tmp_path: Path) -> None:
    run = Run(ESCAPE.format(dir=tmp_path) + "sleep 300", timeout=1)
    pids = escaped(tmp_path)
    assert run.result().status == "Timeout"
    all_gone(pids)


def test_a_stop_kills_what_left_the_session(mode: str, tmp_path: Path) -> None:
    run = Run(ESCAPE.format(dir=tmp_path) + "sleep 300")
    pids = escaped(tmp_path)
    run.execution.cancel()
    assert run.result().status == "Terminated"
    all_gone(pids)


def test_what_a_script_leaves_running_when_it_exits_lives_on(mode: str, tmp_path: Path) -> None:
    run = Run(ESCAPE.format(dir=tmp_path) + "exit 0")
    pids = escaped(tmp_path)
    try:
        assert run.result().status == "Success"
        assert not any(pid_gone(pid) for pid in pids), "a daemon a script starts is not killed"
        [record] = run.records
        assert not Path(record.get("cgroup", "/nonexistent")).exists(), "its cgroup is removed"
    finally:
        kill(pids)


def test_abandon_ends_a_run_whose_agent_died(mode: str, tmp_path: Path) -> None:
    run = Run(f"echo $$ > {tmp_path}/script.pid\n" + ESCAPE.format(dir=tmp_path) + "sleep 300")
    pids = [read_pid(tmp_path / "script.pid"), *escaped(tmp_path)]
    [record] = run.records
    assert ("cgroup" if mode == "cgroup" else "cookie") in record
    # What a restarted agent does with the dead one's record: everything of the run is killed.
    assert abandon(record) >= 3
    assert not Path(record["scratch"]).exists()
    all_gone(pids)
    assert run.result().status == "Failed"  # as this (living) agent sees its killed script


def test_a_script_that_cannot_start_leaves_nothing_behind(tmp_path: Path) -> None:
    run = Run("#!/no/such/interpreter\n")
    outcome = run.result()
    assert (outcome.status, outcome.error_code) == ("Error", "ExecutionException")
    [record] = run.records
    assert not Path(record["scratch"]).exists()
