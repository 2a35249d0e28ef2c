"""The processes of this host: read from Linux's /proc (none where there is none), signalled."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

SETTLE = 5.0  # seconds allowed for killed processes to be gone


class Process(NamedTuple):
    pid: int
    ppid: int
    session: int
    alive: bool  # False for a zombie: it has exited and runs nothing


def table() -> list[Process]:
    found = []
    for name in _pids():
        process = _stat(int(name))
        if process is not None:
            found.append(process)
    return found


def _pids() -> list[str]:
    try:
        return [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _stat(pid: int) -> Process | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:  # it ended meanwhile
        return None
    # The command name (2nd field) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rindex(b")") + 2 :].split()
    state, ppid, session = fields[0], int(fields[1]), int(fields[3])
    return Process(pid, ppid, session, alive=state not in (b"Z", b"X"))


def environment_has(pid: int, entry: bytes) -> bool:
    """Whether `entry` (NAME=value) is in the environment `pid` started with (False if unknown)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return entry in handle.read().split(b"\0")
    except OSError:  # ended, or not ours to read
        return False


def signal_all(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def kill_until_gone(members: Callable[[], set[int]]) -> set[int]:
    """SIGKILL what `members()` finds until it finds nothing (or SETTLE seconds pass): what
    forks meanwhile is found the next time. Returns all it found."""
    found: set[int] = set()
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        left = members()
        if not left:
            break
        found |= left
        signal_all(left, signal.SIGKILL)
        time.sleep(0.01)
    return found
