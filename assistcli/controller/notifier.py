"""Wake the long-polls of instances that have new work or something to stop.

Notifications only shorten the wait: a poll that misses one still finds its work when it
times out and the agent polls again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator


class LocalNotifier:
    """In-process wake-ups, for a single controller."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self.schedules_changed = asyncio.Event()  # wakes the scheduler early

    @contextlib.contextmanager
    def subscribe(self, instance_id: str) -> Iterator[asyncio.Event]:
        """An event set by the next notify() for the instance; subscribe before looking for
        work, so a notification between the look and the wait is not lost."""
        event = asyncio.Event()
        self._waiting.setdefault(instance_id, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiting.get(instance_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiting[instance_id]

    def notify(self, instance_ids: Iterable[str]) -> None:
        for instance_id in instance_ids:
            for event in self._waiting.get(instance_id, ()):
                event.set()
