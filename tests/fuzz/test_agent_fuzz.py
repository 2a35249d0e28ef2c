"""Fuzzed agent-protocol requests as a registered instance: never a 5xx, every error in the
shape, and nothing an agent reports can break a listing afterwards.

`make test` sends a few hundred (the same every run); `make test-faults` sends FUZZ_REQUESTS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from agent_cases import AGENT_CASES, LANDMINES, AgentCase
from conftest import REGION, StartController
from fuzz_world import INSTANCE, INVOCATION, World
from fuzzing import Budget, Tally, assert_clean, budget, run
from rawclient import call

from assistcli.api import agent as proto

pytestmark = pytest.mark.e2e

NEW_INVOCATION_EVERY = 20  # agent requests: reports on a run stop counting once it has ended
REFRESH_EVERY = 500  # fuzzed registrations use up the activation
CREDENTIALS = {
    "none": {proto.INSTANCE_HEADER: "", "Authorization": ""},
    "wrong": {"Authorization": "Bearer not-the-secret"},
}


@pytest.fixture(scope="module")
def world(start_controller: StartController) -> World:
    return World.make(start_controller())


def look(world: World, tally: Tally, *, wide: bool = True) -> None:
    """List what the agent's requests were about: each listing must still answer."""
    ctl, invocation, instance = world.ctl, world.ids[INVOCATION], world.ids[INSTANCE]
    listings = [
        ("DescribeInvocations", {"InvokeId": invocation, "IncludeOutput": "true"}),
        ("DescribeInvocationResults", {"InvokeId": invocation}),
    ]
    if wide:
        listings += [
            ("DescribeInvocations", {}),
            ("DescribeInvocationResults", {}),
            ("DescribeManagedInstances", {"InstanceId.1": instance}),
            ("DescribeCloudAssistantStatus", {"InstanceId.1": instance}),
        ]
    for action, params in listings:
        params = {"Action": action, "RegionId": REGION, **params}
        tally.check(call(ctl.url, ctl.access_key_id, ctl.access_key_secret, params), action)


def fuzz_agent(world: World, plan: Budget, record: Callable[[str, Any], None]) -> None:
    tally, listings = Tally("agent"), Tally("listings")

    def send(case: AgentCase) -> None:
        headers = {**world.agent_headers(), **CREDENTIALS.get(case.credentials, {})}
        resp = requests.post(
            world.ctl.url.rstrip("/") + case.path,
            data=world.resolve(case.body).encode(),
            headers={**headers, "Content-Type": "application/json"},
            timeout=30,
        )
        tally.check(resp, case.shown())

    def check(case: AgentCase) -> None:
        if tally.sent % REFRESH_EVERY == REFRESH_EVERY - 1:
            world.refresh()
        elif tally.sent % NEW_INVOCATION_EVERY == NEW_INVOCATION_EVERY - 1:
            look(world, listings)
            world.new_invocation()
        send(case)

    for case in LANDMINES:  # each report on a run of its own, listed straight after
        world.new_invocation()
        send(case)
        look(world, listings, wide=False)
    run(AGENT_CASES, plan, check)
    look(world, listings)
    assert_clean([tally, listings], plan, record, world.ctl.log())


def test_fuzzed_agent_requests_get_answers_or_4xx(
    world: World, record_property: Callable[[str, Any], None]
) -> None:
    fuzz_agent(world, budget(full=False), record_property)


@pytest.mark.faults
def test_many_fuzzed_agent_requests_get_answers_or_4xx(
    world: World, record_property: Callable[[str, Any], None]
) -> None:
    fuzz_agent(world, budget(full=True), record_property)
