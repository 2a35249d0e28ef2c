"""Raw HTTP/1.1 requests, mutated byte by byte from valid ones: whatever the controller answers
is an HTTP response in the API's error shape (or a success), never a 5xx or a plain-text 400,
and it serves on afterwards.

`make test` sends a few hundred (the same every run); `make test-faults` sends FUZZ_REQUESTS.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests
from conftest import Controller
from fuzzing import Budget, Tally, assert_clean, budget, run
from hypothesis import strategies as st
from rawclient import ERROR_KEYS

pytestmark = pytest.mark.e2e

VALID = [
    b"GET /?Action=DescribeRegions HTTP/1.1\r\nHost: h\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 20\r\n\r\nAction=DescribeRegio",
    b"POST /agent/v1/poll HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
]
INSERTS = [
    b"\r\n",
    b"\n",
    b"\x00",
    b" ",
    b":",
    b"\xff",
    b"HTTP/9.9",
    b"Content-Length: 5\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"-1",
    b"99999999999999999999",
    b"\r\n\r\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid request with a few bytes replaced, deleted, or inserted."""
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        if how == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif how == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif how == "insert":
            data[at:at] = draw(st.sampled_from(INSERTS) | st.binary(min_size=1, max_size=8))
        else:
            data = data[: max(at, 1)]
    return bytes(data)


def exchange(ctl: Controller, raw: bytes) -> bytes:
    """Send `raw` and half-close: the first response, or b'' if the connection closed silently."""
    with socket.create_connection(("127.0.0.1", ctl.port), timeout=15) as conn:
        try:
            conn.sendall(raw)
            conn.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        except (ConnectionResetError, BrokenPipeError):
            return b""
    return data


class Answer:
    """A raw answer seen as the tally sees a requests.Response."""

    def __init__(self, raw: bytes) -> None:
        head, _, body = raw.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status_code = int(status_line.split()[1])
        self.headers = {k.strip(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        self.content = body


def check_raw(tally: Tally, raw: bytes, answer: bytes) -> None:
    shown = repr(raw[:200])
    if not answer:
        tally.statuses[0] += 1  # closed without a word: the peer may have sent half a request
        return
    try:
        got = Answer(answer)
    except (ValueError, IndexError):
        tally.statuses[-1] += 1
        tally.bad.append(f"{shown} -> not HTTP: {answer[:200]!r}")
        return
    tally.statuses[got.status_code] += 1
    if got.status_code == 200:
        return
    try:
        headers = {k.lower(): v for k, v in got.headers.items()}
        assert headers.get("content-type", "").startswith("application/json")
        # The first response only: a mutation may have made two requests of one.
        body = json.loads(got.content[: int(headers["content-length"])])
        assert set(body) == ERROR_KEYS
        assert got.status_code < 500
        tally.codes[body["Code"]] += 1
    except (AssertionError, ValueError, KeyError):
        tally.bad.append(f"{shown} -> {answer[:300]!r}")


def fuzz_http(ctl: Controller, plan: Budget, record: Callable[[str, Any], None]) -> None:
    tally = Tally("http")
    run(mutated(), plan, lambda raw: check_raw(tally, raw, exchange(ctl, raw)))
    assert requests.get(f"{ctl.url}healthz", timeout=10).json() == {"Status": "ok"}
    assert_clean([tally], plan, record, ctl.log())


def test_mutated_raw_requests_get_answers_in_the_error_shape(
    controller: Controller, record_property: Callable[[str, Any], None]
) -> None:
    fuzz_http(controller, budget(full=False), record_property)


@pytest.mark.faults
def test_many_mutated_raw_requests_get_answers_in_the_error_shape(
    controller: Controller, record_property: Callable[[str, Any], None]
) -> None:
    fuzz_http(controller, budget(full=True), record_property)
