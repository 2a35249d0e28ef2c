"""The controller closes a kept-alive connection that idles past `--idle-timeout`; the agent's
next request on it fails at once, and the agent repeats it on a new connection without a word."""

from __future__ import annotations

import time

import pytest
from agent_helpers import run_and_wait
from conftest import StartAgent, StartController

pytestmark = pytest.mark.e2e

IDLE = 0.3  # seconds


def test_connections_closed_while_idle_are_reopened_quietly(
    start_controller: StartController, start_agent: StartAgent
) -> None:
    ctl = start_controller("--idle-timeout", str(IDLE))
    agent = start_agent(ctl, "--poll-wait", "2")
    for _ in range(3):
        row = run_and_wait(ctl, agent.instance_id, "echo hi")
        assert row["InvocationStatus"] == "Success", row
        time.sleep(IDLE * 3)  # the idle gap under test: the report connection is closed
    log = agent.log()
    assert "unreachable" not in log and "cannot report" not in log, log
    assert "WARNING" not in log, log
