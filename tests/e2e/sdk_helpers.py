"""Small helpers shared by the official-SDK end-to-end tests (test_sdk_core.py, test_sdk_tea.py)."""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Response timestamps: ISO 8601 UTC with seconds (reference §1.6).
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

ECHO_123 = "echo 123"
ECHO_123_B64 = "ZWNobyAxMjM="  # base64("echo 123"): the seed example of the contract

RETAINED_CONTENT_LIMIT = 18432  # CreateCommand / RunCommand KeepCommand=true, after Base64
UNRETAINED_CONTENT_LIMIT = 24576  # RunCommand KeepCommand=false, after Base64


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def b64_of_length(length: int) -> str:
    """Valid Base64 text of exactly `length` characters (`length` must be a multiple of 4)."""
    assert length % 4 == 0
    encoded = base64.b64encode(b"a" * (length // 4 * 3)).decode()
    assert len(encoded) == length
    return encoded


def unique(prefix: str) -> str:
    """A name nobody else on the shared controller uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float = 15.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Call `fetch` until `done(result)` holds; return that result or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if done(result):
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {result!r}")
        time.sleep(interval)
