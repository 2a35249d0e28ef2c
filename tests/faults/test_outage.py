"""Outages of the controller longer than the delivery timeout lose no result.

An agent that holds a task when the controller goes away runs it and keeps its reports in its
outbox; when the controller comes back, those reports must win over any timeout the controller
might infer from the silence.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from agent_helpers import run_script, wait_status
from conftest import Agent, Controller, StartAgent, StartController, wait_for

pytestmark = pytest.mark.e2e

TIMEOUT = 1.0  # --delivery-timeout
LEASE = 0.5  # --delivery-lease


def delivered(ctl: Controller, invoke_id: str) -> bool:
    """The controller leased the task to its agent (read from its store, read-only)."""
    db = sqlite3.connect(f"file:{ctl.data_dir / 'assist.db'}?mode=ro", uri=True)
    try:
        row = db.execute(
            "SELECT delivered_at FROM targets WHERE invoke_id = ?", (invoke_id,)
        ).fetchone()
    finally:
        db.close()
    return row is not None and row[0] is not None


def reported(agent: Agent, invoke_id: str, seq: int) -> bool:
    """The agent's outbox holds report `seq` of the task: it ran while nobody listened."""
    return any((agent.state_dir / "outbox").glob(f"*-{invoke_id}-1-{seq}.json"))


def outage_while_held(
    start_controller: StartController, start_agent: StartAgent, tmp_path: Path, outage: float
) -> None:
    ctl = start_controller("--delivery-timeout", str(TIMEOUT), "--delivery-lease", str(LEASE))
    agent = start_agent(ctl, "--max-concurrency", "1")
    gate = tmp_path / "gate"
    blocker = run_script(ctl, agent.instance_id, f"while [ ! -e {gate} ]; do sleep 0.05; done")
    wait_status(ctl, blocker, {"Running"})
    queued = run_script(ctl, agent.instance_id, "echo done")  # held, behind the blocker
    wait_for(lambda: delivered(ctl, queued), what="the controller to hand the task out")
    # Leased is not held: the answer carrying it may still be on its way when the controller dies.
    wait_for(lambda: f"task {queued}: received" in agent.log(), what="the agent to hold it")

    ctl.kill()
    gate.touch()
    wait_for(lambda: reported(agent, queued, 2), what="the held task to run offline")
    time.sleep(outage)  # the controller stays away longer than the delivery timeout
    ctl.start()

    row = wait_status(ctl, queued, timeout=30)
    assert (row["InvocationStatus"], row["ErrorCode"], row["Output"]) == ("Success", "", "done\n")
    assert wait_status(ctl, blocker)["InvocationStatus"] == "Success"


def test_a_held_task_run_during_an_outage_keeps_its_result(
    start_controller: StartController, start_agent: StartAgent, tmp_path: Path
) -> None:
    outage_while_held(start_controller, start_agent, tmp_path, outage=2 * TIMEOUT)


@pytest.mark.faults
@pytest.mark.parametrize("outage", [5.0, 15.0])
def test_long_outages_keep_results(
    start_controller: StartController, start_agent: StartAgent, tmp_path: Path, outage: float
) -> None:
    outage_while_held(start_controller, start_agent, tmp_path, outage)
