"""A lost wake-up costs latency, never a run: with a broker that loses every announcement,
work is still delivered well within the delivery timeout, and nothing is aborted."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

import pytest
from agents import ProtocolAgent, tasks_of
from conftest import StartApp, api, wait_for

from assistcli.controller.broker import LocalEventBroker

DELIVERY_TIMEOUT = 2.0  # the reaper aborts what waits longer; news is watched every 0.5 s


class DeafBroker(LocalEventBroker):
    """Loses every announcement on the way."""

    def __init__(self) -> None:
        super().__init__()
        self.lost: list[str] = []

    def publish(self, instance_ids: Collection[str]) -> None:
        self.lost += instance_ids


@pytest.fixture(scope="module")
def deaf() -> DeafBroker:
    return DeafBroker()


@pytest.fixture(scope="module")
def ctl(start_app: StartApp, deaf: DeafBroker) -> Any:
    return start_app(broker=deaf, delivery_timeout=DELIVERY_TIMEOUT)


def run_on(ctl: Any, *instance_ids: str) -> str:
    params = {"Type": "RunShellScript", "CommandContent": "echo hi", "InstanceId": instance_ids}
    return str(api(ctl).call("RunCommand", params)["InvokeId"])


def records(ctl: Any, invoke_id: str) -> dict[str, dict[str, Any]]:
    found = api(ctl).call("DescribeInvocationResults", {"InvokeId": invoke_id})
    rows = found["Invocation"]["InvocationResults"]["InvocationResult"]
    return {row["InstanceId"]: row for row in rows}


def test_a_held_poll_gets_work_whose_wake_up_was_lost(ctl: Any, deaf: DeafBroker) -> None:
    agent = ProtocolAgent.register(ctl)
    offline = ctl.add_instance(name="offline")  # no agent: its record must time out
    assert agent.poll()["tasks"] == []  # nothing new until a wake-up says so
    held = agent.hold_poll(wait=60)
    started = time.monotonic()
    invoke_id = run_on(ctl, agent.instance_id, offline)
    assert {agent.instance_id, offline} <= set(deaf.lost)
    [task] = tasks_of(held.result(timeout=DELIVERY_TIMEOUT))
    assert task["invoke_id"] == invoke_id
    assert time.monotonic() - started < DELIVERY_TIMEOUT / 2
    # The reaper has run past the delivery timeout (the offline record is aborted), and left
    # the delivered record alone.
    wait_for(lambda: records(ctl, invoke_id)[offline]["InvocationStatus"] == "Aborted")
    assert records(ctl, invoke_id)[agent.instance_id]["InvocationStatus"] != "Aborted"
    agent.finish(invoke_id)
    assert records(ctl, invoke_id)[agent.instance_id]["InvocationStatus"] == "Success"


def test_polls_between_long_polls_get_work_whose_wake_up_was_lost(
    ctl: Any, deaf: DeafBroker
) -> None:
    agent = ProtocolAgent.register(ctl)
    assert agent.poll()["tasks"] == []  # looked: later polls skip the store
    started = time.monotonic()
    invoke_id = run_on(ctl, agent.instance_id)
    assert agent.instance_id in deaf.lost
    answer = wait_for(lambda: agent.poll()["tasks"], DELIVERY_TIMEOUT, "the lost task")
    assert [task["invoke_id"] for task in answer] == [invoke_id]
    assert time.monotonic() - started < DELIVERY_TIMEOUT / 2
    agent.finish(invoke_id)
    assert records(ctl, invoke_id)[agent.instance_id]["InvocationStatus"] == "Success"
