"""The scheduler against a real store of each backend and a fake clock: no sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from backends import BACKENDS

from assistcli.api.agent import Report
from assistcli.controller import scheduler as scheduler_module
from assistcli.controller.broker import LocalEventBroker
from assistcli.controller.models import Instance, InstanceFilter, Invocation, PageRequest
from assistcli.controller.notifier import Notifier
from assistcli.controller.scheduler import Scheduler, arm, plan
from assistcli.controller.store import Store
from assistcli.controller.store.base import StoreUnavailable

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


Scenario = Callable[[Store, Scheduler, Clock], Awaitable[None]]
Run = Callable[[Scenario], None]


@pytest.fixture(params=sorted(BACKENDS))
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    """run(scenario): the scenario with a fresh store of the backend and a scheduler on it."""

    def runner(scenario: Scenario) -> None:
        async def main() -> None:
            store = BACKENDS[request.param](tmp_path)
            await store.open()
            clock = Clock(T0)
            try:
                notifier = Notifier(LocalEventBroker())
                await scenario(store, Scheduler(store, notifier, 60.0, clock), clock)
            finally:
                await store.close()

        asyncio.run(main())

    return runner


async def periodic(store: Store, frequency: str, *instances: str, timezone: str = "UTC") -> None:
    for instance_id in instances:
        if await store.get_instance(instance_id) is None:
            await store.add_instance(
                Instance(
                    instance_id=instance_id,
                    instance_name=instance_id,
                    registration_time=T0,
                    timezone=timezone,
                )
            )
    found = (
        await store.list_instances(InstanceFilter(instance_ids=list(instances)), PageRequest())
    ).items
    invocation = Invocation(
        invoke_id="t-1",
        command_id="c-1",
        command_name="tick",
        command_type="RunShellScript",
        content=b"date",
        creation_time=T0,
        repeat_mode="Period",
        frequency=frequency,
        timeout=10,
    )
    invocation.targets = arm(invocation, found, T0)
    await store.insert_invocation(invocation)


async def runs(store: Store) -> list[tuple[int, str]]:
    inv = await store.get_invocation("t-1")
    assert inv is not None
    return [(t.run, t.status) for t in inv.targets]


async def finish(store: Store, at: float) -> None:
    """The agent ran the current run and reported success."""
    inv = await store.get_invocation("t-1")
    assert inv is not None
    for target in inv.targets:
        events = [
            Report(invoke_id="t-1", run=target.run, seq=0, event="started", time=at),
            Report(
                invoke_id="t-1",
                run=target.run,
                seq=1,
                event="finished",
                time=at,
                status="Success",
                exit_code=0,
            ),
        ]
        await store.apply_reports(target.instance_id, events, at, 1000)


def test_fires_at_the_cron_moments_and_returns_to_scheduled(run: Run) -> None:
    async def scenario(store: Store, scheduler: Scheduler, clock: Clock) -> None:
        await periodic(store, "0/10 * * * * *", "mi-1")
        assert await store.next_due() == T0 + 10
        clock.now = T0 + 9.9
        await scheduler.tick()
        assert await runs(store) == [(0, "Scheduled")]  # not yet
        clock.now = T0 + 10.05
        await scheduler.tick()
        assert await runs(store) == [(1, "Pending")]
        await finish(store, T0 + 10.5)
        assert await runs(store) == [(1, "Scheduled")]  # more runs to come
        assert await store.next_due() == T0 + 20
        clock.now = T0 + 20.01
        await scheduler.tick()
        assert await runs(store) == [(2, "Pending")]
        history = await store.run_history("t-1", None, PageRequest())
        assert [(r.target.run, r.target.status) for r in history.items] == [
            (1, "Success"),
            (2, "Pending"),
        ]

    run(scenario)


def test_a_fire_is_handled_once_even_when_ticks_repeat(run: Run) -> None:
    async def scenario(store: Store, scheduler: Scheduler, clock: Clock) -> None:
        await periodic(store, "0/10 * * * * *", "mi-1")
        clock.now = T0 + 10.0
        due = await store.claim_due(clock.now, 10, 10.0)
        fire = plan(due[0].target, due[0].invocation, clock.now, 60.0)
        assert len(await store.record_fires([fire], clock.now)) == 1
        assert await store.record_fires([fire], clock.now) == []  # as after a restart
        assert await runs(store) == [(1, "Pending")]

    run(scenario)


def test_missed_fires_coalesce_to_the_latest_one(run: Run) -> None:
    async def scenario(store: Store, scheduler: Scheduler, clock: Clock) -> None:
        await periodic(store, "0/10 * * * * *", "mi-1")
        clock.now = T0 + 45.0  # 10, 20, 30, 40 were missed: one run, for 40 (5 s late)
        await scheduler.tick()
        assert await runs(store) == [(1, "Pending")]
        assert await store.next_due() == T0 + 50

    run(scenario)


def test_a_fire_missed_beyond_the_grace_is_skipped(run: Run) -> None:
    async def scenario(store: Store, scheduler: Scheduler, clock: Clock) -> None:
        await periodic(store, "0 0 * * * *", "mi-1")  # hourly
        assert await store.next_due() == T0 + 3600
        clock.now = T0 + 3600 + 120  # the controller was down across 13:00 for 2 minutes
        assert await scheduler.tick() is False
        assert await runs(store) == [(0, "Scheduled")]  # not run late
        assert await store.next_due() == T0 + 7200

    run(scenario)


def test_a_fire_during_a_running_run_is_skipped(run: Run) -> None:
    async def scenario(store: Store, scheduler: Scheduler, clock: Clock) -> None:
        await periodic(store, "0/10 * * * * *", "mi-1")
        clock.now = T0 + 10
        await scheduler.tick()
        clock.now = T0 + 20  # the first run never finished
        await scheduler.tick()
        assert await runs(store) == [(1, "Pending")]
        assert await store.next_due() == T0 + 30

    run(scenario)


def test_cron_without_a_zone_runs_in_the_instance_zone(run: Run) -> None:
    async def scenario(store: Store, scheduler: Scheduler, clock: Clock) -> None:
        await periodic(store, "0 30 21 * * *", "mi-sh", timezone="Asia/Shanghai")
        due = await store.next_due()
        assert due == datetime(2026, 3, 1, 13, 30, tzinfo=UTC).timestamp()  # 21:30 +08:00

    run(scenario)


def test_stop_ends_the_schedule(run: Run) -> None:
    async def scenario(store: Store, scheduler: Scheduler, clock: Clock) -> None:
        await periodic(store, "0/10 * * * * *", "mi-1")
        await store.stop_targets("t-1", [], now=T0 + 5)
        assert await store.next_due() is None
        assert await runs(store) == [(0, "Cancelled")]
        inv = await store.get_invocation("t-1")
        assert inv is not None and inv.status == "Stopped"

    run(scenario)


def test_reboot_tasks_fire_when_the_boot_changes(run: Run) -> None:
    async def scenario(store: Store, scheduler: Scheduler, clock: Clock) -> None:
        instance = Instance(
            instance_id="mi-1", instance_name="a", registration_time=T0, boot_id="b1"
        )
        await store.add_instance(instance)
        for invoke_id, mode in (("t-next", "NextRebootOnly"), ("t-every", "EveryReboot")):
            invocation = Invocation(
                invoke_id=invoke_id,
                command_id="c-1",
                command_name="boot",
                command_type="RunShellScript",
                content=b"uptime",
                creation_time=T0,
                repeat_mode=mode,
            )
            invocation.targets = arm(invocation, [instance], T0)
            await store.insert_invocation(invocation)
        assert await store.fire_reboots("mi-1", "b1", T0 + 1) == []  # same boot
        assert sorted(await store.fire_reboots("mi-1", "b2", T0 + 2)) == ["t-every", "t-next"]
        assert await store.fire_reboots("mi-1", "b2", T0 + 3) == []  # already fired for b2

    run(scenario)


def test_the_scheduler_outlives_a_store_that_cannot_be_reached(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "MAX_SLEEP", 0.02)

    async def scenario(store: Store, scheduler: Scheduler, clock: Clock) -> None:
        looks = []
        real = store.next_due

        async def away_then_back() -> float | None:
            looks.append(clock.now)
            if len(looks) == 1:
                raise StoreUnavailable("cannot connect to PostgreSQL")
            return await real()

        monkeypatch.setattr(store, "next_due", away_then_back)
        running = asyncio.create_task(scheduler.run())
        for _ in range(500):
            if len(looks) >= 3 or running.done():
                break
            await asyncio.sleep(0.01)
        assert not running.done() and len(looks) >= 3
        running.cancel()

    run(scenario)
