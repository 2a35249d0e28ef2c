"""This controller's side of wake-ups: the long polls it holds, woken per instance when news
(work to run, work to stop) is heard from the broker, and which instances have had no news since
their agent last looked, so that their polls need not look again.

Everything that gives an instance work or stops its work calls notify() once it is committed:
invocations, file sends, schedule fires, reboot fires, stops. The broker carries that to every
controller, but may lose it (broker.py); watch() therefore asks the store every WATCH_INTERVAL
seconds which instances have work to deliver or to stop, and wakes those too. A lost
announcement costs that much latency; no record waits for a look until its delivery times out.

A poll looks in the store (a writer transaction) only when its instance may have news:
- it was woken since its last look, or never looked since the controller started;
- a task its last look leased is neither acknowledged (reported) nor held by the agent (the
  answer that carried it may be lost: the look hands it out again);
- the last look found a full batch or something to cancel (there may be more);
- its last look is older than RELOOK, a last resort should the store's answers to watch() fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from assistcli.controller.broker import EventBroker
from assistcli.controller.store import Store

logger = logging.getLogger(__name__)

RELOOK = 300.0  # seconds an instance may go without a look while it has no news
WATCH_INTERVAL = 1.0  # seconds between asking the store for news (see watch_interval)


def watch_interval(delivery_timeout: float) -> float:
    """How often to ask the store for news: well within the delivery timeout, so that a record
    whose announcement was lost is delivered long before it would be aborted."""
    return min(WATCH_INTERVAL, delivery_timeout / 4)


@dataclass(slots=True)
class _Quiet:
    since: float  # the look that found everything there was
    leased: set[str]  # invoke ids that look handed out, not yet acknowledged


class Notifier:
    def __init__(self, broker: EventBroker) -> None:
        self.broker = broker
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._quiet: dict[str, _Quiet] = {}
        self.schedules_changed = asyncio.Event()  # wakes the scheduler early
        self.stopping = False  # the server is stopping: polls answer at once
        broker.subscribe(self.wake)

    def stop(self) -> None:
        """Wake every held poll to answer now; polls that come after do not wait either."""
        self.stopping = True
        for events in self._waiting.values():
            for event in events:
                event.set()

    @contextlib.contextmanager
    def subscribe(self, instance_id: str) -> Iterator[asyncio.Event]:
        """An event set by the next news for the instance; subscribe before looking for work,
        so that news between the look and the wait is not missed."""
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
        """Announce news for these instances, committed already, to every controller."""
        self.broker.publish(frozenset(instance_ids))

    def wake(self, instance_ids: Collection[str]) -> None:
        """News for these instances reached this controller: their polls look again."""
        for instance_id in instance_ids:
            self._quiet.pop(instance_id, None)
            for event in self._waiting.get(instance_id, ()):
                event.set()

    def holding(self) -> Iterable[str]:
        """The instances whose poll is open now: their agents are connected."""
        return list(self._waiting)

    async def watch(self, store: Store, interval: float) -> None:
        """Until cancelled, wake every `interval` seconds the instances the store says have work
        to deliver or to stop, whether or not their announcement arrived."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.wake(await store.instances_with_news())
            except Exception:
                logger.exception("asking the store for news failed; retrying")

    # News -----------------------------------------------------------------------------------
    def must_look(self, instance_id: str, held: Collection[str], now: float) -> bool:
        """Whether a poll of the instance, whose agent holds the invoke ids `held`, must look in
        the store for work or cancellations."""
        quiet = self._quiet.get(instance_id)
        return quiet is None or now - quiet.since > RELOOK or not quiet.leased.issubset(held)

    def looked(self, instance_id: str, leased: Iterable[str], complete: bool, now: float) -> None:
        """A look (begun after the poll subscribed) leased `leased`; `complete` when it found
        everything there was. Call it before awaiting anything else."""
        if complete:
            self._quiet[instance_id] = _Quiet(now, set(leased))
        else:
            self._quiet.pop(instance_id, None)

    def acknowledged(self, instance_id: str, invoke_ids: Iterable[str]) -> None:
        """The instance's agent reported on these tasks: they were not lost on the way."""
        quiet = self._quiet.get(instance_id)
        if quiet is not None:
            quiet.leased.difference_update(invoke_ids)

    def forget(self, instance_id: str) -> None:
        self._quiet.pop(instance_id, None)
