"""ClientToken under kill -9: a retry gets the original result or a fresh execution, never a
token stuck in IdempotentProcessing, and nothing is written that no client can learn of."""

from __future__ import annotations

import http.client
import threading
import time
import uuid

import pytest
import requests
from conftest import REGION, Controller, StartController, wait_for
from rawclient import call

STALE = 2.0  # --client-token-stale: seconds before a dead request's claim is taken over


def signed(ctl: Controller, params: dict[str, str]) -> requests.Response:
    return call(ctl.url, ctl.access_key_id, ctl.access_key_secret, params)


def create(ctl: Controller, token: str, name: str) -> requests.Response:
    return signed(
        ctl,
        {
            "Action": "CreateCommand",
            "RegionId": REGION,
            "Name": name,
            "Type": "RunShellScript",
            "CommandContent": "ZWNobyAxMjM=",
            "ClientToken": token,
        },
    )


def command_ids(ctl: Controller) -> set[str]:
    found: set[str] = set()
    page = 1
    while True:
        params = {"Action": "DescribeCommands", "RegionId": REGION, "PageSize": "50"}
        body = signed(ctl, {**params, "PageNumber": str(page)}).json()
        items = body["Commands"]["Command"]
        found |= {c["CommandId"] for c in items}
        if len(items) < 50:
            return found
        page += 1


def crash_mid_requests(start_controller: StartController, clients: int, after: float) -> None:
    ctl = start_controller("--client-token-stale", str(STALE))
    tried: list[str] = []
    cut: list[str] = []  # requests the crash cut off: their client never heard back
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            token = uuid.uuid4().hex
            tried.append(token)
            try:
                create(ctl, token, f"cmd-{token[:8]}")
            except (OSError, http.client.HTTPException):  # the controller died under it
                cut.append(token)
                return

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(tried) >= clients * 3, what="requests in flight")
    time.sleep(after)
    ctl.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert cut, "the crash cut no request off"
    ctl.start()

    time.sleep(STALE)  # the dead requests' claims become stale
    learned: dict[str, str] = {}
    for token in tried:
        answer = create(ctl, token, f"cmd-{token[:8]}")
        assert answer.status_code == 200, answer.text
        learned[token] = answer.json()["CommandId"]
        again = create(ctl, token, f"cmd-{token[:8]}").json()  # and it stays that result
        assert again["CommandId"] == learned[token]
    # Every command that exists is one a client learned of: no orphans from the crash.
    assert command_ids(ctl) == set(learned.values())
    assert len(set(learned.values())) == len(tried)


def test_a_token_in_flight_at_a_crash_is_settled_by_its_retry(
    start_controller: StartController,
) -> None:
    crash_mid_requests(start_controller, clients=4, after=0.05)


@pytest.mark.faults
@pytest.mark.parametrize("after", [0.0, 0.1, 0.3, 0.7])
def test_tokens_survive_crashes_at_many_moments(
    start_controller: StartController, after: float
) -> None:
    crash_mid_requests(start_controller, clients=16, after=after)
