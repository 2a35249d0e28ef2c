"""Nothing is lost: agent crashes, controller outages and graceful stops, with real processes.

DESIGN.md decisions 3 (work is leased; a redelivered one-off run never runs twice; notifications
only affect latency) and 4 (results go through the agent's durable outbox; the controller
de-duplicates; a run the agent died in is reported, never re-run). These tests kill and restart
controllers, so they use a controller of their own, not the shared one.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import (
    kill_group,
    pid_gone,
    read_pid,
    result,
    run_and_wait,
    run_script,
    wait_status,
)
from conftest import Controller, StartAgent, StartController, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ctl(start_controller: StartController) -> Iterator[Controller]:
    controller = start_controller()
    yield controller
    controller.kill()  # its data is thrown away; no need for a graceful stop


@pytest.fixture
def running_ctl(ctl: Controller) -> Controller:
    """The module's controller, started again should an earlier test have left it down."""
    if ctl.process is None or ctl.process.poll() is not None:
        ctl.start()
    return ctl


def outbox_empty(state_dir: Path) -> bool:
    return not any((state_dir / "outbox").glob("*.json"))


@pytest.mark.parametrize("cgroups", ["1", "0"], ids=["cgroup", "tracking"])
def test_a_run_the_agent_died_in_is_ended_at_its_restart_and_never_run_again(
    running_ctl: Controller, start_agent: StartAgent, tmp_path: Path, cgroups: str
) -> None:
    ctl = running_ctl
    agent = start_agent(ctl, env={"AGENTD_CGROUPS": cgroups})
    runs = tmp_path / "runs"
    invoke_id = run_script(
        ctl,
        agent.instance_id,
        f'echo "$0" > {tmp_path}/script.path; echo $$ > {tmp_path}/script.pid\n'
        f"setsid sleep 600 & echo $! > {tmp_path}/setsid.pid\n"
        f"echo run >> {runs}; echo start; sleep 300",
    )
    pids = [read_pid(tmp_path / "script.pid"), read_pid(tmp_path / "setsid.pid")]
    scratch = Path((tmp_path / "script.path").read_text().strip()).parent
    wait_for(lambda: result(ctl, invoke_id)["Output"] == "start\n", 5, "the first output")
    try:
        agent.kill()  # kill -9: no chance to report anything, nor to end the script
        assert not any(map(pid_gone, pids)), "the script outlives its agent"
        agent.start()
        row = wait_status(ctl, invoke_id, timeout=15)
        assert (row["InvocationStatus"], row["ErrorCode"]) == ("Error", "ExecutionInterrupted")
        assert "at its restart it killed the 3 processes" in row["ErrorInfo"], row["ErrorInfo"]
        assert row["Output"] == "start\n" and row["FinishedTime"]
        wait_for(lambda: all(map(pid_gone, pids)), 5, f"{pids} to be killed")
        assert not scratch.exists(), "the script's directory is removed"
        wait_for(lambda: outbox_empty(agent.state_dir), 10, "the agent's outbox to drain")
        assert runs.read_text() == "run\n", "the interrupted run must not start again"
        assert result(ctl, invoke_id)["InvocationStatus"] == "Error"
        assert agent.running()
    finally:
        for pid in pids:
            kill_group(pid)


def test_a_result_made_while_the_controller_is_down_arrives_exactly_once(
    running_ctl: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    ctl = running_ctl
    agent = start_agent(ctl)
    marker = tmp_path / "finished"
    invoke_id = run_script(ctl, agent.instance_id, f"sleep 3; echo done; touch {marker}")
    wait_status(ctl, invoke_id, {"Running"}, timeout=5)
    ctl.kill()
    try:
        wait_for(marker.exists, 10, "the script to finish while the controller is down")
    finally:
        ctl.start()  # same port, same data
    row = wait_status(ctl, invoke_id, timeout=30)
    assert (row["InvocationStatus"], row["Output"], row["ExitCode"]) == ("Success", "done\n", 0)
    wait_for(lambda: outbox_empty(agent.state_dir), 10, "the agent's outbox to drain")
    again = result(ctl, invoke_id)
    assert (again["InvocationStatus"], again["Output"]) == ("Success", "done\n")
    assert agent.running()


def test_the_agent_backs_off_and_reconnects_by_itself(
    running_ctl: Controller, start_agent: StartAgent
) -> None:
    ctl = running_ctl
    agent = start_agent(ctl)
    assert agent.process is not None
    pid = agent.process.pid
    ctl.kill()
    try:
        wait_for(
            lambda: "unreachable" in agent.log() and "retrying in" in agent.log(),
            10,
            "the agent to log its retries",
        )
    finally:
        ctl.start()
    row = run_and_wait(ctl, agent.instance_id, "echo back", timeout=40)
    assert (row["InvocationStatus"], row["Output"]) == ("Success", "back\n")
    assert agent.running() and agent.process.pid == pid, "the agent was not restarted"


def test_sigterm_lets_a_running_task_finish_and_report(
    running_ctl: Controller, start_agent: StartAgent
) -> None:
    ctl = running_ctl
    agent = start_agent(ctl)
    invoke_id = run_script(ctl, agent.instance_id, "sleep 2; echo ok")
    wait_status(ctl, invoke_id, {"Running"}, timeout=5)
    assert agent.stop(timeout=20) == 0
    # The agent reported before it exited: the result is there already.
    row = result(ctl, invoke_id)
    assert (row["InvocationStatus"], row["Output"], row["ExitCode"]) == ("Success", "ok\n", 0)
    assert outbox_empty(agent.state_dir)


def test_work_queued_while_the_agent_was_stopped_is_delivered_when_it_returns(
    running_ctl: Controller, start_agent: StartAgent
) -> None:
    ctl = running_ctl
    agent = start_agent(ctl)
    assert agent.stop() == 0
    invoke_id = run_script(ctl, agent.instance_id, "echo welcome back")
    assert result(ctl, invoke_id)["InvocationStatus"] == "Pending"
    began = time.monotonic()
    agent.start()
    row = wait_status(ctl, invoke_id, timeout=10)
    assert (row["InvocationStatus"], row["Output"]) == ("Success", "welcome back\n")
    assert time.monotonic() - began < 5, "queued work is answered at once to a returning agent"


def test_a_second_signal_kills_running_tasks_and_exits_at_once(
    running_ctl: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    ctl = running_ctl
    agent = start_agent(ctl)
    pid_file = tmp_path / "script.pid"
    invoke_id = run_script(ctl, agent.instance_id, f"echo $$ > {pid_file}; sleep 300")
    wait_status(ctl, invoke_id, {"Running"}, timeout=5)
    script = read_pid(pid_file)
    assert agent.process is not None
    agent.process.send_signal(signal.SIGTERM)  # drain: waits for the 300 s script
    wait_for(lambda: "finishing running tasks" in agent.log(), 5, "the agent to start draining")
    assert agent.running()
    agent.process.send_signal(signal.SIGTERM)  # the second one: now
    assert agent.process.wait(timeout=5) != 0
    wait_for(lambda: pid_gone(script), 5, "the script to be killed with the agent")
    agent.start()  # the run it abandoned is reported, not left Running
    row = wait_status(ctl, invoke_id, timeout=15)
    assert (row["InvocationStatus"], row["ErrorCode"]) == ("Error", "ExecutionInterrupted")


@pytest.mark.sqlite_only
def test_a_run_delivered_again_after_it_ended_is_settled_from_the_ledger(
    running_ctl: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    """A store restored from a backup taken while a run was pending hands the run out again:
    the agent does not run it twice, and ends the record with the outcome its ledger kept."""
    ctl = running_ctl
    agent = start_agent(ctl)
    runs = tmp_path / "runs"
    invoke_id = run_script(ctl, agent.instance_id, f"echo once >> {runs}; exit 3")
    assert wait_status(ctl, invoke_id)["InvocationStatus"] == "Failed"
    wait_for(lambda: outbox_empty(agent.state_dir), 10, "the agent's outbox to drain")
    ctl.kill()
    with sqlite3.connect(ctl.data_dir / "assist.db") as db:  # as the backup had it
        db.execute(
            "UPDATE targets SET status = 'Pending', start_time = NULL, finish_time = NULL, "
            "exit_code = NULL, output = x'', report_seq = -1, delivered_at = NULL, "
            "lease_until = NULL WHERE invoke_id = ?",
            (invoke_id,),
        )
        db.execute("UPDATE invocations SET status = 'Pending' WHERE invoke_id = ?", (invoke_id,))
    db.close()
    ctl.start()
    row = wait_status(ctl, invoke_id, timeout=30)
    assert (row["InvocationStatus"], row["ExitCode"]) == ("Failed", 3), row
    assert agent.log().count("its outcome is reported again") == 1, agent.log()
    assert runs.read_text() == "once\n"
