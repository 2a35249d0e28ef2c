"""Wake-ups between controllers: whoever commits news for instances (work to run, work to stop)
announces their ids, and every controller sharing the store hears it and wakes the polls it
holds for them (notifier.py).

A broker is best effort by contract. An announcement may arrive late, twice or never: a dropped
connection, a controller that began listening after it was sent. Correctness never rests on it:
each controller also asks the store for news every second or so (Notifier.watch), so a lost
wake-up costs that much latency, never a run.

`LocalEventBroker` serves a single controller. A broker for several controllers (PostgreSQL
LISTEN/NOTIFY) implements the same three transport methods.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection

Listener = Callable[[Collection[str]], None]


class EventBroker(abc.ABC):
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` on the event loop with the instance ids of every announcement this
        controller hears, its own included, until the broker is closed. A listener must not
        block or raise: it only records the news and wakes waiters."""
        self._listeners.append(listener)

    def _heard(self, instance_ids: Collection[str]) -> None:
        """Hand an announcement to the listeners; backends call it on the event loop."""
        for listener in self._listeners:
            listener(instance_ids)

    @abc.abstractmethod
    async def start(self) -> None:
        """Begin hearing announcements (connect, listen). What is published after it returns
        reaches this controller's listeners, unless it is lost on the way."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop hearing and release connections; listeners are not called once it returns."""

    @abc.abstractmethod
    def publish(self, instance_ids: Collection[str]) -> None:
        """Announce that these instances have news, to every controller sharing the broker,
        this one included. Call it only once the news is committed, so that a poll woken by it
        finds the news in the store. Ids only, in one message per call; it neither blocks nor
        raises, and may lose the message."""


class LocalEventBroker(EventBroker):
    """In-process: a single controller hears what it publishes, at once."""

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        self._listeners.clear()

    def publish(self, instance_ids: Collection[str]) -> None:
        if instance_ids:
            self._heard(instance_ids)
