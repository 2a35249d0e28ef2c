"""The Store contract's isolation rules (see base.py): several controllers share one database,
each with its own store object and connections, and call it at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from backends import BACKENDS
from test_store import fleet_instance, invocation, report

from assistcli.api.agent import Report
from assistcli.api.status import RecordStatus, RepeatMode
from assistcli.controller.models import Heartbeat, Invocation, Target
from assistcli.controller.store import Store

CONTROLLERS = 3
ROUNDS = 12  # records raced for in each test, all at once

Race = Callable[[list[Store]], Awaitable[None]]


@pytest.fixture(params=sorted(BACKENDS))
def race(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Race], None]:
    """race(scenario): open CONTROLLERS stores of the backend on one database, run the
    scenario with them, close them."""
    make = BACKENDS[request.param]

    def runner(scenario: Race) -> None:
        async def main() -> None:
            stores = [make(tmp_path) for _ in range(CONTROLLERS)]
            for store in stores:  # one after the other: each applies what migrations remain
                await store.open()
            try:
                await scenario(stores)
            finally:
                for store in stores:
                    await store.close()

        asyncio.run(main())

    return runner


async def one_each(stores: list[Store], *invoke_ids: str, instances: int = 1) -> None:
    """An invocation per id, on instances mi-1 .. mi-<instances>, created at 10."""
    for n in range(instances):
        await stores[0].add_instance(fleet_instance(f"mi-{n + 1}"))
    for invoke_id in invoke_ids:
        targets = [f"mi-{n + 1}" for n in range(instances)]
        await stores[0].insert_invocation(invocation(invoke_id, *targets, created=10.0))


async def record(store: Store, invoke_id: str, instance_id: str = "mi-1") -> Target:
    found = await invocation_of(store, invoke_id)
    return next(t for t in found.targets if t.instance_id == instance_id)


async def invocation_of(store: Store, invoke_id: str) -> Invocation:
    found = await store.get_invocation(invoke_id)
    assert found is not None
    return found


IDS = [f"t-{n:02d}" for n in range(ROUNDS)]


def test_concurrent_claims_deliver_each_record_once(race: Callable[[Race], None]) -> None:
    async def scenario(stores: list[Store]) -> None:
        await one_each(stores, *IDS)
        # The agent holds whatever it was given, so only a claim's own lease hands a record out.
        claims = [store.claim_deliveries("mi-1", 20.0, 30.0, 3, IDS) for store in stores * 4]
        delivered = [d.target.invoke_id for batch in await asyncio.gather(*claims) for d in batch]
        assert sorted(delivered) == IDS

    race(scenario)


def test_a_batch_sent_through_several_controllers_is_applied_once(
    race: Callable[[Race], None],
) -> None:
    async def scenario(stores: list[Store]) -> None:
        await one_each(stores, *IDS)
        sent = [
            store.apply_reports("mi-1", batch, 20.0, 1024, 1024)
            for invoke_id in IDS
            for batch in [
                [
                    report(invoke_id, 0, "started"),
                    report(invoke_id, 1, "output", output=b"once\n"),
                    report(invoke_id, 2, "finished", status="Success", exit_code=0, dropped=1),
                ]
            ]
            for store in stores
        ]
        await asyncio.gather(*sent)
        for invoke_id in IDS:
            ran = await record(stores[0], invoke_id)
            assert (ran.status, ran.output, ran.repeats, ran.dropped) == (
                "Success",
                b"once\n",
                1,
                1,
            )

    race(scenario)


def test_a_reaper_never_overwrites_a_started_or_finished_record(
    race: Callable[[Race], None],
) -> None:
    async def scenario(stores: list[Store]) -> None:
        starting, finishing = IDS[: ROUNDS // 2], IDS[ROUNDS // 2 :]
        await one_each(stores, *IDS)
        await stores[0].record_heartbeats([Heartbeat("mi-1", 15.0, 0)])
        started = [report(i, 0, "started") for i in starting]
        finished = [r for i in finishing for r in finished_run(i)]
        await asyncio.gather(  # never delivered: the reaper's, unless the agent speaks first
            stores[0].abort_undelivered(60.0, now=100.0, connected_since=0.0),
            stores[1].apply_reports("mi-1", started, 100.0, 1024),
            stores[2].apply_reports("mi-1", finished, 100.0, 1024),
        )
        for invoke_id in starting:
            ran = await record(stores[0], invoke_id)
            assert (ran.status, ran.error_code, ran.start_time) == ("Running", "", 10.0)
        await asyncio.gather(  # running past the timeout, the agent silent since 15
            stores[0].abandon_silent_runs(now=1000.0, silent_for=120.0),
            stores[1].apply_reports(
                "mi-1", [report(i, 1, "finished", status="Failed") for i in starting], 1000.0, 9
            ),
        )
        for invoke_id in IDS:
            ran = await record(stores[0], invoke_id)
            outcome = "Failed" if invoke_id in starting else "Success"
            assert (ran.status, ran.error_code) == (outcome, "")
            assert (await invocation_of(stores[0], invoke_id)).status == outcome

    race(scenario)


def finished_run(invoke_id: str) -> list[Report]:
    return [
        report(invoke_id, 0, "started"),
        report(invoke_id, 1, "finished", status="Success", exit_code=0),
    ]


def test_records_ending_at_once_on_several_controllers_end_their_invocation(
    race: Callable[[Race], None],
) -> None:
    async def scenario(stores: list[Store]) -> None:
        await one_each(stores, *IDS, instances=CONTROLLERS)
        await asyncio.gather(  # each instance's agent is served by a controller of its own
            *(
                store.apply_reports(f"mi-{n + 1}", finished_run(i), 20.0, 1024)
                for i in IDS
                for n, store in enumerate(stores)
            )
        )
        for invoke_id in IDS:
            ended = await invocation_of(stores[0], invoke_id)
            assert {t.status for t in ended.targets} == {"Success"}
            assert (ended.status, ended.legacy_status) == ("Success", "Finished")

    race(scenario)


def test_a_nonce_is_accepted_once_whatever_controllers_see_it(
    race: Callable[[Race], None],
) -> None:
    async def scenario(stores: list[Store]) -> None:
        for nonce in IDS:
            used = [store.use_nonce(nonce, 100.0, 900.0) for store in stores]
            assert sorted(await asyncio.gather(*used)) == [False] * (CONTROLLERS - 1) + [True]

    race(scenario)


def test_an_instance_deregistered_through_several_controllers_is_fed_once(
    race: Callable[[Race], None],
) -> None:
    async def scenario(stores: list[Store]) -> None:
        _, start = await stores[0].deregistrations(None)
        for instance_id in IDS:
            await stores[0].add_instance(fleet_instance(instance_id))
        removed = await asyncio.gather(
            *(store.deregister_instance(i, 20.0) for i in IDS for store in stores)
        )
        assert sorted(r.instance_id for r in removed if r is not None) == IDS
        fed, _ = await stores[0].deregistrations(start)
        assert sorted(fed) == IDS

    race(scenario)


def periodic(invoke_id: str, *instances: str) -> Invocation:
    """A periodic invocation whose records are all due at 50."""
    inv = invocation(invoke_id, *instances, created=10.0)
    inv.repeat_mode, inv.frequency = RepeatMode.PERIOD, "rate(1m)"
    for target in inv.targets:
        target.status, target.run, target.next_fire = RecordStatus.SCHEDULED, 0, 50.0
    return inv


async def periodic_fleet(store: Store) -> list[str]:
    """ROUNDS instances and a periodic invocation "t-p" on them, due at 50; their ids."""
    instances = [f"mi-{n + 1}" for n in range(ROUNDS)]
    for instance_id in instances:
        await store.add_instance(fleet_instance(instance_id))
    await store.insert_invocation(periodic("t-p", *instances))
    return instances


def test_due_records_are_shared_by_the_controllers_that_claim_them(
    race: Callable[[Race], None],
) -> None:
    async def scenario(stores: list[Store]) -> None:
        instances = await periodic_fleet(stores[0])
        claims = [store.claim_due(60.0, 2, 10.0) for store in stores * 4]
        claimed = [r.target.instance_id for batch in await asyncio.gather(*claims) for r in batch]
        assert sorted(claimed) == sorted(instances)  # each once, by one controller
        assert await stores[0].claim_due(65.0, 100, 10.0) == []  # claimed till 70
        assert await stores[0].next_due() == 70.0
        # A claim whose controller died lapses: another takes the records over.
        again = await stores[1].claim_due(71.0, 100, 10.0)
        assert sorted(r.target.instance_id for r in again) == sorted(instances)

    race(scenario)


def test_controllers_firing_one_schedule_at_once_neither_deadlock_nor_fire_twice(
    race: Callable[[Race], None],
) -> None:
    from assistcli.controller.scheduler import plan

    async def scenario(stores: list[Store]) -> None:
        instances = await periodic_fleet(stores[0])

        async def fire(store: Store) -> list[str]:
            due = await store.claim_due(60.0, 3, 10.0)
            fires = [plan(r.target, r.invocation, 60.0, 60.0) for r in due]
            return [f.instance_id for f in await store.record_fires(fires, 60.0)]

        started = await asyncio.gather(*(fire(store) for store in stores * 2))
        assert sorted(i for batch in started for i in batch) == sorted(instances)  # once each
        # Each run's history row names the invocation its record's lock is on: a foreign-key
        # check must not wait for that lock (it did, and the database broke the deadlocks).
        assert sum(getattr(store, "aborted_calls", 0) for store in stores) == 0

    race(scenario)


def test_a_fire_decided_before_a_stop_or_after_its_claim_lapsed_changes_nothing(
    race: Callable[[Race], None],
) -> None:
    from assistcli.controller.scheduler import plan

    async def scenario(stores: list[Store]) -> None:
        for instance_id in ("mi-1", "mi-2"):
            await stores[0].add_instance(fleet_instance(instance_id))
        await stores[0].insert_invocation(periodic("t-p", "mi-1", "mi-2"))
        late = {r.target.instance_id: r for r in await stores[0].claim_due(60.0, 10, 10.0)}
        # mi-1 is stopped meanwhile; mi-2's claim lapses and another controller fires it.
        await stores[1].stop_targets("t-p", ["mi-1"], 61.0)
        [taken] = await stores[1].claim_due(71.0, 10, 10.0)
        assert taken.target.instance_id == "mi-2"
        fired = plan(taken.target, taken.invocation, 71.0, 60.0)
        assert len(await stores[1].record_fires([fired], 71.0)) == 1
        stale = [plan(r.target, r.invocation, 60.0, 60.0) for r in late.values()]
        assert await stores[0].record_fires(stale, 72.0) == []
        stopped, running = (
            await record(stores[2], "t-p", "mi-1"),
            await record(stores[2], "t-p", "mi-2"),
        )
        assert (stopped.status, stopped.next_fire) == ("Cancelled", None)  # and it did not run
        assert (running.status, running.run, running.next_fire) == ("Pending", 1, fired.next_fire)

    race(scenario)
