"""A deregistered agent is refused by every controller sharing the store as soon as the
deregistration returns, whichever controller it went through: two controllers on one SQLite
file, sharing nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import ProtocolAgent
from conftest import StartApp, api


@pytest.fixture(scope="module")
def pair(start_app: StartApp) -> tuple[Any, Any]:
    first = start_app()
    return first, start_app(data_dir=first.data_dir)


def test_an_agent_deregistered_through_one_controller_is_refused_by_the_other(
    pair: tuple[Any, Any],
) -> None:
    first, second = pair
    agent = ProtocolAgent.register(first)
    on_second = ProtocolAgent(second, agent.instance_id, agent.secret)
    assert on_second.poll()["tasks"] == []  # the second controller remembers the agent now
    held = on_second.hold_poll(wait=60)
    api(first).call("DeregisterManagedInstance", {"InstanceId": agent.instance_id})
    refused = on_second.ctl.post("/agent/v1/poll", on_second.poll_body(0, None), agent.headers)
    assert (refused.status_code, refused.json()["Code"]) == (401, "Agent.NotRegistered")
    answer = held.result(timeout=5)  # the poll it held is answered with the refusal
    assert (answer.status, json.loads(answer.body)["Code"]) == (401, "Agent.NotRegistered")
