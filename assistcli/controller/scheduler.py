"""Fires periodic tasks: sleep until the earliest due record, fire what is due, repeat.

Every fire is recorded under a unique (invocation, instance, fire time) key in the same
transaction that moves the record's next fire on, so a restart or a second controller never
fires the same moment twice. Missed fires (the controller was down) are coalesced: only the
latest missed moment is considered, and it runs if it is at most `misfire_grace` seconds late;
otherwise it is recorded as `late` and skipped. A moment that comes while the previous run is
still going is recorded as `busy` and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from assistcli.api import status as st
from assistcli.api.status import RecordStatus, RepeatMode
from assistcli.controller import frequency
from assistcli.controller.models import Fire, Instance, Invocation, Target
from assistcli.controller.notifier import Notifier
from assistcli.controller.store import Store
from assistcli.controller.store.base import StoreUnavailable

logger = logging.getLogger(__name__)

BATCH = 500  # records fired per transaction
FIRE_LEASE = 10.0  # seconds the due records a tick claimed are its own (see Store.claim_due)
MAX_SLEEP = 1.0  # seconds between looks even when nothing is due (schedules of other controllers)
MIN_SLEEP = 0.05  # seconds between looks that claimed nothing (what is due is claimed elsewhere)


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def trigger_of(invocation: Invocation, target: Target) -> frequency.Trigger:
    return frequency.parse(
        invocation.frequency,
        anchor=utc(invocation.creation_time),
        default_timezone=target.timezone or "UTC",
    )


def first_fire(invocation: Invocation, target: Target, now: float) -> float | None:
    fire = trigger_of(invocation, target).next_fire(utc(now))
    return None if fire is None else fire.timestamp()


def plan(target: Target, invocation: Invocation, now: float, grace: float) -> Fire:
    """What to do with a record whose next fire has come."""
    assert target.next_fire is not None
    trigger = trigger_of(invocation, target)
    due = utc(target.next_fire)
    latest = trigger.latest_fire(due - timedelta(microseconds=1), utc(now)) or due
    following = trigger.next_fire(utc(now))
    if now - latest.timestamp() > grace:
        outcome = "late"
    elif target.status in (RecordStatus.PENDING, RecordStatus.RUNNING, RecordStatus.STOPPING):
        outcome = "busy"
    else:
        outcome = "run"
    return Fire(
        invoke_id=target.invoke_id,
        instance_id=target.instance_id,
        due=target.next_fire,
        fire_time=latest.timestamp(),
        next_fire=None if following is None else following.timestamp(),
        outcome=outcome,
    )


class Scheduler:
    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        misfire_grace: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.notifier = store, notifier
        self.misfire_grace, self.clock = misfire_grace, clock

    async def tick(self) -> bool:
        """Fire what is due now; True when there may be more due right away."""
        now = self.clock()
        due = await self.store.claim_due(now, BATCH, FIRE_LEASE)
        fires = [plan(r.target, r.invocation, now, self.misfire_grace) for r in due]
        started = await self.store.record_fires(fires, now)
        # "agent": the instance runs Alibaba's agent, which runs it on its own clock
        skipped = [fire for fire in fires if fire.outcome not in ("run", "agent")]
        if skipped:  # each is in the fires table with its reason; one line here is enough
            late = sum(fire.outcome == "late" for fire in skipped)
            logger.info(
                "skipped %d fires: %d missed by more than the grace period, %d while the "
                "previous run was still going",
                len(skipped),
                late,
                len(skipped) - late,
            )
        self.notifier.notify({f.instance_id for f in started})
        return len(due) == BATCH

    async def run(self) -> None:
        while True:
            changed = self.notifier.schedules_changed
            changed.clear()  # before looking, so a change during the look is not missed
            try:
                more = await self.tick()
                if more:
                    continue
                next_at = await self.store.next_due()
            except StoreUnavailable as away:  # each look is tried again, a second apart
                logger.warning("scheduler: %s; retrying", away)
                next_at = None
            except Exception:
                logger.exception("scheduler tick failed; retrying")
                next_at = None
            delay = MAX_SLEEP if next_at is None else next_at - self.clock()
            # A due record another controller holds is not ours to fire: no busy wait for it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(max(delay, MIN_SLEEP), MAX_SLEEP))


def arm(invocation: Invocation, instances: list[Instance], now: float) -> list[Target]:
    """The records of a new invocation: Pending for a one-time task, Scheduled for a periodic
    one (first fire in the instance's own time zone) or a reboot task (armed in the instance's
    current boot)."""
    targets = []
    for instance in instances:
        target = Target(
            invoke_id=invocation.invoke_id,
            instance_id=instance.instance_id,
            status=RecordStatus.PENDING,
            creation_time=now,
        )
        if invocation.repeat_mode in st.REPEATING:
            target.status, target.run = RecordStatus.SCHEDULED, 0
            target.timezone, target.boot_id = instance.timezone or "UTC", instance.boot_id
        if invocation.repeat_mode == RepeatMode.PERIOD:
            target.next_fire = first_fire(invocation, target, now)
            if target.next_fire is None:
                target.status, target.error_code = RecordStatus.INVALID, "BadCronExpression"
                target.error_info = "The cron expression never fires in the instance's time zone."
                target.finish_time = now
        targets.append(target)
    return targets
