"""The agents' HTTP front: bad requests to `/agent/v1/*` get the API's error shape."""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from agent_helpers import read_secret, run_script
from conftest import Controller, StartController, create_activation, register
from rawclient import expect_error

from assistcli.api import agent as proto
from assistcli.controller.agent_http import MAX_BODY, host_name

pytestmark = pytest.mark.e2e


def registered(ctl: Controller, tmp_path: Path) -> dict[str, str]:
    """Headers of a newly registered instance (no agent runs for it)."""
    activation_id, code = create_activation(ctl, InstanceCount=1)
    done = register(ctl, activation_id, code, tmp_path / "agent")
    assert done.returncode == 0, done.stderr
    secret = read_secret(tmp_path / "agent")
    return {proto.INSTANCE_HEADER: done.stdout.strip(), "Authorization": f"Bearer {secret}"}


@pytest.fixture
def identity(controller: Controller, tmp_path: Path) -> dict[str, str]:
    return registered(controller, tmp_path)


@pytest.mark.parametrize("path", [proto.REGISTER, proto.POLL, proto.REPORT])
def test_other_methods_are_405(controller: Controller, path: str) -> None:
    resp = requests.get(controller.url.rstrip("/") + path, timeout=10)
    body = expect_error(resp, 405, "UnsupportedHTTPMethod")
    assert path in body["Message"]


def test_unknown_agent_paths_are_404(controller: Controller) -> None:
    resp = requests.post(controller.url.rstrip("/") + "/agent/v1/nope", json={}, timeout=10)
    expect_error(resp, 404, "InvalidAction.NotFound")


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b"\xff\xfe", b""], ids=["text", "list", "bad utf-8", "empty"]
)
def test_a_body_that_is_not_a_json_object_is_400(
    controller: Controller, identity: dict[str, str], body: bytes
) -> None:
    for path in (proto.POLL, proto.REPORT, proto.REGISTER):
        resp = requests.post(controller.url.rstrip("/") + path, data=body, headers=identity)
        expect_error(resp, 400, "Agent.InvalidRequest")


def test_a_body_over_the_limit_is_400_and_the_front_keeps_serving(
    controller: Controller, identity: dict[str, str]
) -> None:
    url = controller.url.rstrip("/") + proto.REPORT
    resp = requests.post(url, data=b" " * (MAX_BODY + 1), headers=identity, timeout=30)
    body = expect_error(resp, 400, "Agent.InvalidRequest")
    assert str(MAX_BODY) in body["Message"]
    resp = requests.post(url, json={"reports": []}, headers=identity, timeout=10)
    assert resp.status_code == 200 and resp.json()["acked"] == [], resp.text


def test_errors_name_the_host_the_agent_called(controller: Controller) -> None:
    resp = requests.post(controller.url.rstrip("/") + proto.POLL, json={}, timeout=10)
    assert expect_error(resp, 401, "Agent.NotRegistered")["HostId"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("127.0.0.1:8742", "127.0.0.1"),
        ("assist.example.com", "assist.example.com"),
        ("[::1]:8742", "::1"),
        ("[::1]", "::1"),
        ("", "localhost"),
    ],
)
def test_host_name_of_a_host_header(header: str, host: str) -> None:
    assert host_name(header) == host


def raw_poll(
    ctl: Controller,
    headers: dict[str, str],
    wait: float,
    streaming: threading.Event | None = None,
) -> tuple[int, str, bytes]:
    """A poll through http.client, which decodes chunked bodies: (status, encoding, body).
    `streaming` is set once the first byte of the body (a keep-alive newline) has come."""
    body = json.dumps({"wait": wait, "active": []}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", ctl.port, timeout=30)
    try:
        conn.request("POST", proto.POLL, body, {**headers, "Content-Type": "application/json"})
        resp = conn.getresponse()
        first = resp.read(1)
        if streaming is not None:
            streaming.set()
        return resp.status, resp.getheader("Transfer-Encoding", ""), first + resp.read()
    finally:
        conn.close()


def test_a_long_poll_is_streamed_with_keepalive_newlines(
    start_controller: StartController, tmp_path: Path
) -> None:
    ctl = start_controller("--agent-keepalive", "1")
    headers = registered(ctl, tmp_path)
    started = time.monotonic()
    status, encoding, body = raw_poll(ctl, headers, wait=3.5)
    assert 3.4 < time.monotonic() - started < 10
    assert (status, encoding) == (200, "chunked")
    # Headers after 1 s, newlines at about 2 and 3 s, the answer at 3.5 s.
    assert body.startswith(b"\n\n") and body.lstrip(b"\n").startswith(b"{"), body
    answer = json.loads(body)  # JSON parsers skip the leading whitespace
    assert (answer["tasks"], answer["cancel"]) == ([], [])
    # A short poll is answered in one piece, with its length.
    status, encoding, body = raw_poll(ctl, headers, wait=0)
    assert (status, encoding) == (200, "") and body.startswith(b"{")


def test_work_arriving_during_a_streamed_poll_ends_it(
    start_controller: StartController, tmp_path: Path
) -> None:
    ctl = start_controller("--agent-keepalive", "0.2")
    headers = registered(ctl, tmp_path)
    instance_id = headers[proto.INSTANCE_HEADER]
    raw_poll(ctl, headers, wait=0)  # the instance is connected
    streaming = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        polling = pool.submit(raw_poll, ctl, headers, 60, streaming)
        assert streaming.wait(10)  # the answer is being streamed: newlines go out
        invoke_id = run_script(ctl, instance_id, "echo streamed")
        status, encoding, body = polling.result(timeout=30)
    assert (status, encoding) == (200, "chunked") and body.startswith(b"\n")
    [task] = json.loads(body)["tasks"]
    assert task["invoke_id"] == invoke_id
