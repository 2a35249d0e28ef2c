"""Wake-ups for those following runs' output (GET /assist/v1/output): an agent's reports on a
record wake the streams that follow it.

In process and best effort, like the broker's: a stream also looks in the store every
FOLLOW_RELOOK seconds (output_api.py), so output reported through another controller sharing
the store, or a record ended by the reaper, reaches its followers that late, never not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator

Key = tuple[str, str]  # (invoke id, instance id)


class Followers:
    def __init__(self) -> None:
        self._waiting: dict[Key, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def subscribe(self, invoke_id: str, instance_ids: Iterable[str]) -> Iterator[asyncio.Event]:
        """An event set by the next report on any of these records; subscribe before looking
        in the store, so that a report between the look and the wait is not missed."""
        event = asyncio.Event()
        keys = [(invoke_id, instance_id) for instance_id in instance_ids]
        for key in keys:
            self._waiting.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            for key in keys:
                waiting = self._waiting.get(key)
                if waiting is not None:
                    waiting.discard(event)
                    if not waiting:
                        del self._waiting[key]

    def reported(self, instance_id: str, invoke_ids: Iterable[str]) -> None:
        """The instance's agent reported on these invocations (its reports are committed)."""
        if not self._waiting:  # the usual case: nobody follows anything
            return
        for invoke_id in invoke_ids:
            for event in self._waiting.get((invoke_id, instance_id), ()):
                event.set()
