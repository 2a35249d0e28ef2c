"""kill -9 of the controller, the agent, or both, at each step of a run: nothing lost, nothing
run twice, nothing left stuck.

The script appends a line to a file each time it runs, then waits for a gate file, so a test can
hold a run at a step while it kills things. Each case ends with the record in its true final
state, the script's output whole and exactly one execution.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from agent_helpers import run_script, wait_status
from conftest import Agent, Controller, StartAgent, StartController, wait_for

pytestmark = pytest.mark.e2e


@dataclass
class Run:
    ctl: Controller
    agent: Agent
    invoke_id: str
    runs: Path  # one line per execution
    gate: Path  # the script ends once this exists

    def executions(self) -> int:
        return len(self.runs.read_text().splitlines()) if self.runs.exists() else 0

    def finished_offline(self) -> bool:
        """The agent's outbox holds the run's `finished` report."""
        reports = (self.agent.state_dir / "outbox").glob(f"*-{self.invoke_id}-1-*.json")
        return any(json.loads(path.read_text())["event"] == "finished" for path in reports)


def start_run(start_controller: StartController, start_agent: StartAgent, tmp_path: Path) -> Run:
    ctl = start_controller()
    agent = start_agent(ctl)
    runs, gate = tmp_path / "runs", tmp_path / "gate"
    script = f"echo run >> {runs}; echo begin; while [ ! -e {gate} ]; do sleep 0.05; done; echo end"
    invoke_id = run_script(ctl, agent.instance_id, script)
    return Run(ctl, agent, invoke_id, runs, gate)


def running(run: Run) -> None:
    wait_status(run.ctl, run.invoke_id, {"Running"})
    wait_for(lambda: run.executions() == 1, what="the script to start")


def end_while_the_controller_is_down(run: Run) -> None:
    running(run)
    run.ctl.kill()
    run.gate.touch()
    wait_for(run.finished_offline, what="the run to end while the controller is down")


def kill_controller_while_running(run: Run) -> None:
    end_while_the_controller_is_down(run)
    run.ctl.start()


def kill_controller_then_agent_with_reports_unsent(run: Run) -> None:
    end_while_the_controller_is_down(run)
    run.agent.kill()
    run.ctl.start()
    run.agent.start()


def pause_controller_and_kill_agent_after_the_run(run: Run) -> None:
    running(run)
    assert run.ctl.process is not None
    os.kill(run.ctl.process.pid, signal.SIGSTOP)  # reports cannot be delivered
    try:
        run.gate.touch()
        wait_for(run.finished_offline, what="the run to end while the controller is frozen")
        run.agent.kill()
    finally:
        os.kill(run.ctl.process.pid, signal.SIGCONT)
    run.agent.start()


def kill_controller_twice(run: Run) -> None:
    running(run)
    run.ctl.kill()
    run.ctl.start()
    run.ctl.kill()
    run.gate.touch()
    wait_for(run.finished_offline, what="the run to end while the controller is down")
    run.ctl.start()


Fault = Callable[[Run], None]


def check(
    start_controller: StartController, start_agent: StartAgent, tmp_path: Path, fault: Fault
) -> None:
    run = start_run(start_controller, start_agent, tmp_path)
    fault(run)
    row = wait_status(run.ctl, run.invoke_id, timeout=30)
    assert (row["InvocationStatus"], row["Output"]) == ("Success", "begin\nend\n"), row
    assert run.executions() == 1  # never twice
    wait_for(
        lambda: not any((run.agent.state_dir / "outbox").glob("*.json")),
        what="the agent's outbox to empty",
    )


@pytest.mark.parametrize(
    "fault",
    [
        kill_controller_while_running,
        kill_controller_then_agent_with_reports_unsent,
        pause_controller_and_kill_agent_after_the_run,
        kill_controller_twice,
    ],
)
def test_kill_at_each_step(
    start_controller: StartController, start_agent: StartAgent, tmp_path: Path, fault: Fault
) -> None:
    check(start_controller, start_agent, tmp_path, fault)
