"""Stopping a controller while agents hold their polls open: it exits at once and quietly, the
held polls are answered, and the agents carry on with the next controller on the same port
without a warning."""

from __future__ import annotations

import signal
import time

import pytest
from agent_helpers import run_and_wait
from conftest import StartAgent, StartController

pytestmark = pytest.mark.e2e

AGENTS = 3
EXIT_WITHIN = 2.0  # seconds from the signal to the process's end


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopping_controller_answers_held_polls_and_exits_quietly(
    start_controller: StartController, start_agent: StartAgent, signum: signal.Signals
) -> None:
    ctl = start_controller()
    agents = [start_agent(ctl, "--poll-wait", "25") for _ in range(AGENTS)]
    process = ctl.process
    assert process is not None

    sent = time.monotonic()
    process.send_signal(signum)
    process.wait(timeout=10)
    took = time.monotonic() - sent
    log = ctl.log()
    assert took < EXIT_WITHIN, f"the controller took {took:.1f}s to exit:\n{log}"
    for noise in ("ERROR", "Traceback", "CancelledError"):
        assert noise not in log, log

    ctl.start()  # a new process on the same port and data directory
    for agent in agents:
        row = run_and_wait(ctl, agent.instance_id, "echo 123")
        assert (row["InvocationStatus"], row["Output"]) == ("Success", "123\n"), row
        assert agent.running()
        assert "WARNING" not in agent.log(), agent.log()
