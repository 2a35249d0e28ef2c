"""The HTTP layer's own limits: a request head past 1 MiB and an API body past 1 MiB are refused,
slow clients are dropped, malformed HTTP is answered in the API's error shape, and nothing else
breaks.

URLs between 64 KB (where httptools' URL splitter stops) and 1 MiB reach the API whole and get
its error shape (the API's own answers to 100 KB values are in integration/test_error_shape.py).
"""

from __future__ import annotations

import base64
import json
import socket
import time
from pathlib import Path

import pytest
import requests
from conftest import REGION, Controller, StartController, wait_for
from rawclient import ERROR_KEYS, build, encode_pairs, expect_error, send
from slow_clients import closed_by_peer, hold_trickling, open_files, rss_bytes
from test_agent_http import raw_poll, registered

from assistcli.api import agent as proto
from assistcli.controller.agent_http import MAX_BODY

pytestmark = pytest.mark.e2e

LIMIT = 1024 * 1024  # the request head's bound, and the API body's
FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"
SLOW = 0.5  # seconds the `quick` controller gives a head, a body and an idle connection


RESET = b"<reset>"


def exchange(controller: Controller, head: bytes) -> bytes:
    """Send a raw request head; everything the controller answers before it closes, or RESET
    when it closed while the head was still coming (the kernel then resets the connection, and
    an answer already sent may be lost with it)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", controller.port), timeout=10) as conn:
        try:
            conn.sendall(head)
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            return RESET
    return b"".join(chunks)


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """A raw response: its status, headers (lower-case names) and body."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
    return int(status_line.split()[1]), headers, body


def receive(conn: socket.socket) -> bytes:
    """One whole response (with a Content-Length), or what came before the connection closed."""
    data = b""
    while True:
        _, ended, body = data.partition(b"\r\n\r\n")
        if ended and len(body) >= int(parse(data)[1].get("content-length", 0)):
            return data
        if not (chunk := conn.recv(65536)):
            return data
        data += chunk


def api_error(answer: bytes, status: int, code: str) -> dict[str, str]:
    """Assert a raw response is the API's error body with this status and code."""
    got, headers, body = parse(answer)
    assert got == status, answer[:500]
    assert headers["content-type"].startswith("application/json"), answer[:500]
    error = json.loads(body)
    assert set(error) == ERROR_KEYS and error["Code"] == code, error
    return {k: str(v) for k, v in error.items()}


def refused(answer: bytes) -> bool:
    if answer == RESET:
        return True
    api_error(answer, 400, "InvalidRequest.Malformed")
    return True


def still_serving(controller: Controller) -> bool:
    return requests.get(f"{controller.url}healthz", timeout=5).json() == {"Status": "ok"}


def test_a_url_past_the_limit_is_refused_and_the_connection_closed(controller: Controller) -> None:
    head = b"GET /?Name=" + b"x" * (LIMIT + 1) + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    answer = exchange(controller, head)
    assert refused(answer), answer[:200]
    assert still_serving(controller)


def test_headers_past_the_limit_are_refused(controller: Controller) -> None:
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"y" * 60_000) for i in range(20))
    answer = exchange(controller, b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n")
    assert refused(answer), answer[:200]
    assert still_serving(controller)


def test_a_url_past_64_kb_reaches_the_api_whole(controller: Controller) -> None:
    """18 KB of 0xFF bytes is 24,000 Base64 slashes, 72 KB once percent-encoded: past the 64 KB
    where httptools stops. The signature holds (the fragment is not part of the query) and the
    API measures all of the content."""
    content = base64.b64encode(b"\xff" * 18_000).decode()
    params = {
        "Action": "CreateCommand",
        "RegionId": REGION,
        "Name": "long",
        "Type": "RunShellScript",
    }
    key_id, secret = controller.access_key_id, controller.access_key_secret
    req = build(controller.url, key_id, secret, {**params, "CommandContent": content}, method="GET")
    req.raw_query = encode_pairs(req.query) + "#fragment"
    assert len(req.url) > 70_000
    body = expect_error(send(req), 403, "CmdContent.ExceedLimit")
    assert "is 24000 bytes after Base64 encoding" in str(body["Message"])


# Malformed HTTP ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
    ],
    ids=["request line", "length", "url byte", "header name", "chunk size"],
)
def test_malformed_http_is_answered_in_the_api_error_shape(
    controller: Controller, request_bytes: bytes
) -> None:
    answer = exchange(controller, request_bytes)
    error = api_error(answer, 400, "InvalidRequest.Malformed")
    assert parse(answer)[1]["connection"] == "close"
    assert error["RequestId"] and error["HostId"]
    assert still_serving(controller)


def test_a_head_past_the_limit_says_so(controller: Controller) -> None:
    """The URL ends one byte past the limit: the controller has read all that was sent when it
    refuses it, so its answer is not lost to a reset."""
    with socket.create_connection(("127.0.0.1", controller.port), timeout=10) as conn:
        conn.sendall(b"GET /" + b"x" * LIMIT)
        answer = receive(conn)
    error = api_error(answer, 400, "InvalidRequest.Malformed")
    assert f"over {LIMIT} bytes" in error["Message"]


# Bodies -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "limit", "status", "code"),
    [
        ("/", LIMIT, 413, "InvalidRequest.TooLarge"),
        (proto.REPORT, MAX_BODY, 400, "Agent.InvalidRequest"),
    ],
)
def test_a_body_declared_past_the_bound_is_refused_before_it_is_sent(
    controller: Controller, path: str, limit: int, status: int, code: str
) -> None:
    head = b"POST %s HTTP/1.1\r\nHost: a\r\n%sContent-Length: %d\r\n\r\n"
    with socket.create_connection(("127.0.0.1", controller.port), timeout=10) as conn:
        conn.sendall(head % (path.encode(), FORM, limit + 1))
        error = api_error(receive(conn), status, code)
    assert str(limit) in error["Message"]


def test_a_refused_body_is_discarded_and_the_connection_serves_on(controller: Controller) -> None:
    head = b"POST / HTTP/1.1\r\nHost: a\r\n%sContent-Length: %d\r\n\r\n" % (FORM, LIMIT + 1)
    with socket.create_connection(("127.0.0.1", controller.port), timeout=10) as conn:
        conn.sendall(head)
        api_error(receive(conn), 413, "InvalidRequest.TooLarge")
        conn.sendall(b"a" * (LIMIT + 1) + b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        status, _, body = parse(receive(conn))
    assert (status, json.loads(body)) == (200, {"Status": "ok"})


def test_a_chunked_body_is_refused_as_it_passes_the_bound(controller: Controller) -> None:
    """64 MiB streamed in chunks: the controller answers once 1 MiB is passed, buffering no more
    (it held all 300 MiB of such a body before)."""
    assert controller.process is not None
    before = rss_bytes(controller.process.pid)
    chunk = b"%x\r\n%s\r\n" % (1024 * 1024, b"a" * 1024 * 1024)
    with socket.create_connection(("127.0.0.1", controller.port), timeout=10) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: a\r\n%sTransfer-Encoding: chunked\r\n\r\n" % FORM)
        for _ in range(64):
            conn.sendall(chunk)
        conn.sendall(b"0\r\n\r\n")
        api_error(receive(conn), 413, "InvalidRequest.TooLarge")
    assert rss_bytes(controller.process.pid) - before < 16 * 1024 * 1024


# Slow clients -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quick(start_controller: StartController) -> Controller:
    """A controller that gives a head, a body and an idle connection half a second each."""
    return start_controller(
        *("--head-timeout", str(SLOW), "--body-timeout", str(SLOW), "--idle-timeout", str(SLOW))
    )


def seconds_until_closed(conn: socket.socket, trickle: bytes = b"", within: float = 10) -> float:
    """Send `trickle` a byte every 0.05 s until the controller closes the connection."""
    started = time.monotonic()
    conn.setblocking(False)
    for byte in trickle or b"\0" * 200:
        if closed_by_peer(conn) or time.monotonic() - started > within:
            break
        if trickle:
            conn.send(bytes([byte]))
        time.sleep(0.05)
    assert closed_by_peer(conn), "the controller still holds the connection"
    return time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed(quick: Controller) -> None:
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as conn:
        assert SLOW * 0.8 < seconds_until_closed(conn) < SLOW + 3


def test_a_trickling_head_is_closed_after_the_head_timeout(quick: Controller) -> None:
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as conn:
        waited = seconds_until_closed(conn, b"GET /healthz HTTP/1.1\r\n" + b"X" * 200)
        assert SLOW * 0.8 < waited < SLOW + 3


def test_a_trickling_body_is_closed_after_the_body_timeout(quick: Controller) -> None:
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nHost: a\r\n%sContent-Length: 400\r\n\r\n" % FORM)
        assert SLOW * 0.8 < seconds_until_closed(conn, b"a" * 400) < SLOW + 3


def test_an_idle_kept_alive_connection_is_closed(quick: Controller) -> None:
    with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        assert parse(receive(conn))[0] == 200
        assert SLOW * 0.8 < seconds_until_closed(conn) < SLOW + 3


def test_a_long_poll_outlasts_every_client_timeout(quick: Controller, tmp_path: Path) -> None:
    """The bounds are on what the client sends: the server may hold its answer for longer."""
    headers = registered(quick, tmp_path)
    started = time.monotonic()
    status, _, body = raw_poll(quick, headers, wait=6 * SLOW)
    assert status == 200 and json.loads(body)["tasks"] == []
    assert time.monotonic() - started > 5 * SLOW


def test_trickling_clients_are_all_dropped(quick: Controller) -> None:
    """A representative of tests/faults/test_slow_clients.py: 100 heads trickling a byte every
    0.1 s are all closed within the head timeout, and their descriptors freed."""
    assert quick.process is not None
    before = open_files(quick.process.pid)
    trickled = hold_trickling(quick.port, 100, every=0.1, wait=10)
    assert trickled.open_after == 0 and trickled.seconds < SLOW + 5
    wait_for(lambda: open_files(quick.process.pid) <= before, what="descriptors to be freed")


def test_a_client_leaving_mid_request_is_not_a_server_error(quick: Controller) -> None:
    """Whether it hangs up or is dropped for being slow: logged (as 499), never as a 500."""
    logged = quick.log().count(" 499 ")
    for path in (b"/", proto.REPORT.encode()):
        with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as conn:
            head = b"POST %s HTTP/1.1\r\nHost: a\r\n%sContent-Length: 100\r\n\r\n"
            conn.sendall(head % (path, FORM) + b"a" * 10)
        with socket.create_connection(("127.0.0.1", quick.port), timeout=10) as conn:
            conn.sendall(head % (path, FORM) + b"a" * 10)
            seconds_until_closed(conn)
    gone = wait_for(
        lambda: quick.log().count(" 499 ") >= logged + 4 and quick.log(), what="4 lines"
    )
    assert " 500 " not in gone and "Traceback" not in gone, gone


# Connections ------------------------------------------------------------------------------------
def test_connections_past_the_limit_are_answered_503(start_controller: StartController) -> None:
    ctl = start_controller("--max-connections", "2")
    assert still_serving(ctl)
    held = [socket.create_connection(("127.0.0.1", ctl.port), timeout=10) for _ in range(2)]
    try:
        answer = exchange(ctl, b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        api_error(answer, 503, "ServiceUnavailable")
        assert parse(answer)[1]["connection"] == "close"
    finally:
        for conn in held:
            conn.close()
    wait_for(lambda: still_serving(ctl), what="the controller to serve again")
