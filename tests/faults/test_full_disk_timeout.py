"""A full disk under the agent's state mid-run, ended by its Timeout (at least 10 s): the agent
still kills everything the run started and the record ends with an error that says why.

The fast case (a stop) is tests/e2e/test_agent_full_disk.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_helpers import (
    kill_group,
    pid_gone,
    put_state_on,
    read_pid,
    run_into_a_full_disk,
    small_disk,
    wait_status,
)
from conftest import Controller, StartAgent, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def test_a_timeout_on_a_full_disk_still_ends_the_run(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)
    with small_disk(tmp_path / "disk") as disk:
        try:
            put_state_on(agent, disk)
            escaped = tmp_path / "setsid.pid"
            invoke_id, filler = run_into_a_full_disk(
                controller, agent, disk, f"setsid sleep 600 & echo $! > {escaped}", Timeout=10
            )
            daemon = read_pid(escaped)
            row = wait_status(controller, invoke_id, timeout=25)
            assert (row["InvocationStatus"], row["ErrorCode"]) == ("Error", "ExecutionException")
            assert "could not write its state (No space left on device)" in row["ErrorInfo"]
            assert "ended: Timeout (The command execution has been timeout.)" in row["ErrorInfo"]
            assert (row["Output"], row["Dropped"]) == ("before\n", len("after\n"))
            wait_for(lambda: pid_gone(daemon), 5, "the run's setsid child to be killed")
            # The outcome was sent from memory; the ledger knows it never reached the disk.
            entry = disk / "ledger" / f"{invoke_id}.1"
            wait_for(lambda: entry.read_bytes() == b"ended", 5, "the run's ledger entry")
            assert not any((disk / "outbox").glob("*.json"))
            # Restarted, the agent reports the run interrupted, in case that outcome was lost;
            # the controller keeps the one it has.
            filler.unlink()
            agent.kill()
            agent.start()
            wait_for(lambda: entry.read_bytes() == b"finished", 5, "the entry to be finished")
            wait_for(lambda: not any((disk / "outbox").glob("*.json")), 5, "the outbox to drain")
            assert wait_status(controller, invoke_id)["ErrorInfo"] == row["ErrorInfo"]
        finally:
            agent.kill()
            if escaped.exists():
                kill_group(read_pid(escaped))
