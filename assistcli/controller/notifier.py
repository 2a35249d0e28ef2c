"""Wake the long-polls of instances that have new work or something to stop, and remember which
instances have had no news since their agent last looked, so their polls need not look again.

Everything that gives an instance work or stops its work calls notify(): invocations, file sends,
schedule fires, reboot fires, stops. A poll looks in the store (a writer transaction) only when
its instance may have news:
- it was notified since its last look, or never looked since the controller started;
- a task its last look leased is neither acknowledged (reported) nor held by the agent (the
  answer that carried it may be lost: the look hands it out again);
- the last look found a full batch or something to cancel (there may be more);
- its last look is older than RELOOK, a safety net that bounds what a missed notification costs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

RELOOK = 300.0  # seconds an instance may go without a look while it has no news


@dataclass(slots=True)
class _Quiet:
    since: float  # the look that found everything there was
    leased: set[str]  # invoke ids that look handed out, not yet acknowledged


class LocalNotifier:
    """In-process wake-ups, for a single controller."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._quiet: dict[str, _Quiet] = {}
        self.schedules_changed = asyncio.Event()  # wakes the scheduler early
        self.stopping = False  # the server is stopping: polls answer at once

    def stop(self) -> None:
        """Wake every held poll to answer now; polls that come after do not wait either."""
        self.stopping = True
        for events in self._waiting.values():
            for event in events:
                event.set()

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
            self._quiet.pop(instance_id, None)
            for event in self._waiting.get(instance_id, ()):
                event.set()

    def holding(self) -> Iterable[str]:
        """The instances whose poll is open now: their agents are connected."""
        return list(self._waiting)

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
