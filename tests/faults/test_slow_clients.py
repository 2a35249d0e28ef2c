"""Unauthenticated clients that would exhaust the controller: 2,000 trickling request heads (all
were held for ever) and a 300 MiB body (it raised the controller's RSS by 300 MB). Fast
representatives run in tests/e2e/test_http_limits.py."""

from __future__ import annotations

import socket

import pytest
import requests
from conftest import StartController, wait_for
from slow_clients import hold_trickling, open_files, rss_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

HEAD_TIMEOUT = 2.0
MIB = 1024 * 1024


def test_two_thousand_trickling_heads_are_dropped(start_controller: StartController) -> None:
    ctl = start_controller("--head-timeout", str(HEAD_TIMEOUT))
    assert ctl.process is not None
    pid = ctl.process.pid
    before = open_files(pid)
    trickled = hold_trickling(ctl.port, 2000, every=0.5, wait=60)
    assert trickled.open_after == 0, trickled
    assert trickled.seconds < HEAD_TIMEOUT + 15, trickled
    wait_for(lambda: open_files(pid) <= before, what="the descriptors to be freed")
    assert requests.get(f"{ctl.url}healthz", timeout=10).json() == {"Status": "ok"}


def test_a_300_mib_body_is_refused_without_being_buffered(
    start_controller: StartController,
) -> None:
    ctl = start_controller()
    assert ctl.process is not None
    before = rss_bytes(ctl.process.pid)
    head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % (300 * MIB)
    with socket.create_connection(("127.0.0.1", ctl.port), timeout=30) as conn:
        conn.sendall(head)
        answer = conn.recv(65536)
        for _ in range(300):  # the controller reads the rest and drops it
            conn.sendall(b"a" * MIB)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert rss_bytes(ctl.process.pid) - before < 16 * MIB
