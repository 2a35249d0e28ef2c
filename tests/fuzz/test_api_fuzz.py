"""Fuzzed signed requests to every action of the table: never a 5xx, every error in the shape.

`make test` sends a few hundred (the same every run); `make test-faults` sends FUZZ_REQUESTS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_cases import API_CASES, ApiCase
from conftest import StartController
from fuzz_world import World
from fuzzing import Budget, Tally, assert_clean, budget, run
from rawclient import build, send

pytestmark = pytest.mark.e2e

REFRESH_EVERY = 100  # requests: fuzzed ones delete and deregister what they name
# The controller refuses a request head over 1 MiB before it is parsed: the HTTP limits have
# their own tests (test_http_limits.py), so longer parameters travel in a form body.
LONGEST_URL = 900 * 1024


@pytest.fixture(scope="module")
def world(start_controller: StartController) -> World:
    return World.make(start_controller())


def fuzz_api(world: World, plan: Budget, record: Callable[[str, Any], None]) -> None:
    tally = Tally("api")
    ctl = world.ctl

    def check(case: ApiCase) -> None:
        if tally.sent % REFRESH_EVERY == REFRESH_EVERY - 1:
            world.refresh()
        params = {world.resolve(k): world.resolve(v) for k, v in case.params.items()}
        key = (ctl.url, ctl.access_key_id, ctl.access_key_secret, params)
        how = {"method": case.method, "signature": case.signature}
        req = build(*key, **how, body_params=case.body_params)
        if len(req.url) > LONGEST_URL:
            req = build(*key, **{**how, "method": "POST"}, body_params=True)
        tally.check(send(req), case.shown())

    run(API_CASES, plan, check)
    assert_clean([tally], plan, record, world.ctl.log())


def test_fuzzed_api_requests_get_answers_or_4xx(
    world: World, record_property: Callable[[str, Any], None]
) -> None:
    fuzz_api(world, budget(full=False), record_property)


@pytest.mark.faults
def test_many_fuzzed_api_requests_get_answers_or_4xx(
    world: World, record_property: Callable[[str, Any], None]
) -> None:
    fuzz_api(world, budget(full=True), record_property)
