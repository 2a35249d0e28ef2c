"""The HTTP layer's own limits: a request head past 1 MiB is refused, and nothing else breaks.

URLs between 64 KB (where httptools' URL splitter stops) and 1 MiB reach the API and get its
error shape: test_error_shape.py sends 100 KB values in the query string.
"""

from __future__ import annotations

import base64
import socket

import pytest
import requests
from conftest import REGION, Controller
from rawclient import build, encode_pairs, expect_error, send

pytestmark = pytest.mark.e2e

LIMIT = 1024 * 1024


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


def refused(answer: bytes) -> bool:
    return answer.startswith(b"HTTP/1.1 400 ") or answer == RESET


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
