"""A full disk under the agent's state mid-run: the agent stays in control of what it started,
and the record ends with an error that says what happened.

The agent's outbox and ledger live on a small tmpfs the test mounts and fills (root only).
The same with a Timeout instead of a stop is in tests/faults/test_agent_full_disk.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import (
    put_state_on,
    run_and_wait,
    run_into_a_full_disk,
    small_disk,
    wait_status,
)
from conftest import Controller, StartAgent, api, wait_for

pytestmark = pytest.mark.e2e


def test_a_stop_on_a_full_disk_ends_the_run_with_a_clear_error(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)
    with small_disk(tmp_path / "disk") as disk:
        try:
            put_state_on(agent, disk)
            invoke_id, filler = run_into_a_full_disk(controller, agent, disk)
            api(controller).call("StopInvocation", {"InvokeId": invoke_id})
            row = wait_status(controller, invoke_id, timeout=10)  # sent from memory
            assert (row["InvocationStatus"], row["ErrorCode"]) == ("Error", "ExecutionException")
            assert "could not write its state (No space left on device)" in row["ErrorInfo"]
            assert "The command itself ended: Terminated" in row["ErrorInfo"]
            assert (row["Output"], row["Dropped"]) == ("before\n", len("after\n"))
            entry = disk / "ledger" / f"{invoke_id}.1"  # the outcome is not on disk: "ended"
            wait_for(lambda: entry.read_bytes() == b"ended", 5, "the run's ledger entry")
            filler.unlink()  # room again: the agent carries on as before
            again = run_and_wait(controller, agent.instance_id, "echo fine")
            assert (again["InvocationStatus"], again["Output"]) == ("Success", "fine\n")
        finally:
            agent.kill()
