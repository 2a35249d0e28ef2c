"""The controllers of one fleet an agent may talk to, one at a time.

Controllers that share one store serve any agent of the fleet alike, so an agent given several
(`--server` repeated) talks to the current one and, when that one cannot be reached, moves on to
the next in the list, round-robin. The first move is made at once; the caller backs off only
once every server has failed in a row. A server that answers, even with a refusal, is not left:
a refusal would be the same anywhere (the store is shared), and moving would only go in circles.
Polls and reports go to the current server; the controllers apply reports once, keyed by their
sequence, and the agent's ledger keeps a run from running twice, so nothing is lost or repeated
when the server changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from agentd.client import ControllerUnreachable

logger = logging.getLogger("agentd")

# HTTP statuses a proxy or load balancer answers for a controller that is down or overloaded.
GONE = frozenset({502, 503, 504})


def unique(urls: Iterable[str]) -> tuple[str, ...]:
    """Each URL once, in the order given (`http://h:1/` and `http://h:1` are the same)."""
    seen: dict[str, str] = {}
    for url in urls:
        seen.setdefault(url.strip().rstrip("/"), url.strip())
    return tuple(seen.values())


def worth_moving(error: ControllerUnreachable) -> bool:
    """Whether another controller may serve where this one failed: it gave no answer
    (connection refused or reset, a timeout, TLS failing), or what stands in front of it said
    it is gone (502, 503, 504). Another server error comes from the store all of them share."""
    return error.status == 0 or error.status in GONE


class Servers:
    """The list, and which one is current; shared by the agent's threads."""

    def __init__(self, urls: Iterable[str], on_move: Callable[[str], None] | None = None) -> None:
        self.urls = unique(urls)
        if not self.urls:
            raise ValueError("no controller URL")
        self.on_move = on_move  # called with the new current server, after a move
        self._lock = threading.Lock()
        self._at = 0
        self._failed: set[str] = set()  # servers failed in a row, this round
        self._moved = False  # moved since the last answer: further moves are logged quietly

    @property
    def current(self) -> str:
        return self.urls[self._at]

    def answered(self, url: str) -> None:
        """`url` answered: the failures in a row are over."""
        with self._lock:
            if url == self.current:
                self._failed.clear()
                self._moved = False

    def failed(self, url: str, error: ControllerUnreachable) -> bool:
        """`url` failed with `error`; move on to the next server if that may help. True when
        the caller should back off before it tries again: every server in the list has failed
        in a row (a single one, each time), or the error is one no other server would fix.
        False: try the (new) current server at once."""
        with self._lock:
            if url != self.current:
                return False  # a request begun before another thread moved on
            if len(self.urls) == 1 or not worth_moving(error):
                return True
            self._failed.add(url)
            everyone = len(self._failed) >= len(self.urls)
            if everyone:
                self._failed.clear()  # the next round begins
            self._at = (self._at + 1) % len(self.urls)
            to = self.current
            level = logging.INFO if self._moved else logging.WARNING
            self._moved = True
        why = str(error)
        why = why[len(url) + 2 :] if why.startswith(f"{url}: ") else why  # named already
        logger.log(level, "moving from %s to %s: %s", url, to, why)
        if self.on_move is not None:
            self.on_move(to)
        return everyone
