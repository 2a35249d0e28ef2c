"""Agent sessions against a real SQLite store: remembered secrets and gathered heartbeats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from assistcli.api.agent import HostFacts
from assistcli.controller.models import Instance
from assistcli.controller.sessions import Sessions, secret_hash
from assistcli.controller.store import Store
from assistcli.controller.store.sqlite import SqliteStore
from assistcli.errors import ApiError

FACTS = HostFacts(hostname="web", boot_id="boot-1", interpreters=["sh"])
WINDOW = 120.0  # the heartbeat window: an agent polled within it counts as connected
held: list[str] = []  # instances whose poll is open


def run(tmp_path: Path, scenario: Callable[[Store, Sessions], Awaitable[None]]) -> None:
    async def main() -> None:
        store = SqliteStore(tmp_path / "assist.db")
        await store.open()
        try:
            await store.add_instance(
                Instance(
                    instance_id="mi-1",
                    instance_name="web",
                    registration_time=1.0,
                    secret_hash=secret_hash("s3cret"),
                    **FACTS.to_wire(),
                )
            )
            await scenario(store, Sessions(store, WINDOW, lambda: held))
        finally:
            await store.close()

    asyncio.run(main())


async def last_heartbeat(store: Store) -> float | None:
    instance = await store.get_instance("mi-1")
    assert instance is not None
    return instance.last_heartbeat


def test_a_secret_is_checked_against_the_store_then_remembered(tmp_path: Path) -> None:
    async def scenario(store: Store, sessions: Sessions) -> None:
        with pytest.raises(ApiError) as unknown:
            await sessions.authenticate("mi-nope", "s3cret")
        assert unknown.value.code == "Agent.NotRegistered"
        with pytest.raises(ApiError) as wrong:
            await sessions.authenticate("mi-1", "guess")
        assert wrong.value.code == "Agent.InvalidCredential"
        session = await sessions.authenticate("mi-1", "s3cret")
        assert session.instance_id == "mi-1" and session.facts == FACTS
        await store.deregister_instance("mi-1", 1.0)
        assert await sessions.authenticate("mi-1", "s3cret") is session  # from memory
        sessions.forget("mi-1")  # what DeregisterManagedInstance does
        with pytest.raises(ApiError) as gone:
            await sessions.authenticate("mi-1", "s3cret")
        assert gone.value.code == "Agent.NotRegistered"

    run(tmp_path, scenario)


def test_first_beat_is_written_at_once_and_later_ones_at_the_flush(tmp_path: Path) -> None:
    async def scenario(store: Store, sessions: Sessions) -> None:
        session = await sessions.authenticate("mi-1", "s3cret")
        assert not await sessions.beat(session, FACTS, 0, now=1000.0)
        assert await last_heartbeat(store) == 1000.0  # offline as far as the store knew
        await sessions.beat(session, FACTS, 2, now=1025.0)
        assert await last_heartbeat(store) == 1000.0  # gathered
        await sessions.flush()
        instance = await store.get_instance("mi-1")
        assert instance is not None
        assert (instance.last_heartbeat, instance.active_task_count) == (1025.0, 2)
        await sessions.flush()  # nothing gathered: nothing written
        assert await last_heartbeat(store) == 1025.0

    run(tmp_path, scenario)


def test_changed_host_facts_are_written_at_once_and_a_new_boot_is_told(tmp_path: Path) -> None:
    async def scenario(store: Store, sessions: Sessions) -> None:
        session = await sessions.authenticate("mi-1", "s3cret")
        await sessions.beat(session, FACTS, 0, now=1000.0)
        rebooted = HostFacts(hostname="web2", boot_id="boot-2", interpreters=["sh"])
        assert await sessions.beat(session, rebooted, 0, now=1010.0)
        instance = await store.get_instance("mi-1")
        assert instance is not None
        assert (instance.hostname, instance.boot_id, instance.last_heartbeat) == (
            "web2",
            "boot-2",
            1010.0,
        )
        assert not await sessions.beat(session, rebooted, 0, now=1020.0)  # told once

    run(tmp_path, scenario)


def test_a_beat_that_might_show_offline_is_not_held_back(tmp_path: Path) -> None:
    async def scenario(store: Store, sessions: Sessions) -> None:
        session = await sessions.authenticate("mi-1", "s3cret")
        await sessions.beat(session, FACTS, 0, now=1000.0)
        await sessions.beat(session, FACTS, 0, now=1000.0 + WINDOW / 2 + 1)
        assert await last_heartbeat(store) == 1000.0 + WINDOW / 2 + 1

    run(tmp_path, scenario)


def test_the_flusher_writes_what_is_gathered_when_it_stops(tmp_path: Path) -> None:
    async def scenario(store: Store, sessions: Sessions) -> None:
        session = await sessions.authenticate("mi-1", "s3cret")
        await sessions.beat(session, FACTS, 0, now=1000.0)
        await sessions.beat(session, FACTS, 1, now=1001.0)
        flusher = asyncio.create_task(sessions.run())
        await asyncio.sleep(0)
        flusher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await flusher
        assert await last_heartbeat(store) == 1001.0

    run(tmp_path, scenario)


def test_agents_holding_a_poll_get_heartbeats_between_their_polls(tmp_path: Path) -> None:
    async def scenario(store: Store, sessions: Sessions) -> None:
        session = await sessions.authenticate("mi-1", "s3cret")
        await sessions.beat(session, FACTS, 3, now=1000.0)
        held.append("mi-1")
        try:
            sessions.held(now=1030.0)
        finally:
            held.clear()
        await sessions.flush()
        instance = await store.get_instance("mi-1")
        assert instance is not None
        assert (instance.last_heartbeat, instance.active_task_count) == (1030.0, 3)
        sessions.held(now=1060.0)  # nobody holds a poll: nothing gathered
        await sessions.flush()
        assert await last_heartbeat(store) == 1030.0

    run(tmp_path, scenario)


class HeldRead:
    """A store whose instance reads wait until released, as a slow read would."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reading = asyncio.Event()
        self.release = asyncio.Event()

    async def get_instance(self, instance_id: str) -> Instance | None:
        found = await self.store.get_instance(instance_id)  # read before the deregistration
        self.reading.set()
        await self.release.wait()
        return found


def test_a_read_racing_a_deregistration_lets_nobody_in(tmp_path: Path) -> None:
    async def scenario(store: Store, _: Sessions) -> None:
        held_read = HeldRead(store)
        sessions = Sessions(held_read, WINDOW, lambda: held)  # type: ignore[arg-type]
        racing = asyncio.create_task(sessions.authenticate("mi-1", "s3cret"))
        await held_read.reading.wait()
        await store.deregister_instance("mi-1", 2.0)
        sessions.forget("mi-1")  # applied while the read that found the instance is on its way
        held_read.release.set()
        with pytest.raises(ApiError) as gone:
            await racing
        assert gone.value.code == "Agent.NotRegistered"
        assert not sessions._gone  # kept no longer than the read it was for

    run(tmp_path, scenario)


def test_a_request_let_in_before_its_deregistration_is_refused_where_it_checks(
    tmp_path: Path,
) -> None:
    async def scenario(store: Store, sessions: Sessions) -> None:
        session = await sessions.authenticate("mi-1", "s3cret")
        sessions.check(session)
        sessions.forget("mi-1")
        with pytest.raises(ApiError) as gone:
            sessions.check(session)  # a held poll, woken by the deregistration
        assert gone.value.code == "Agent.NotRegistered"

    run(tmp_path, scenario)


def test_deregistrations_leave_no_trace_once_no_read_is_on_its_way(tmp_path: Path) -> None:
    async def scenario(store: Store, sessions: Sessions) -> None:
        await sessions.authenticate("mi-1", "s3cret")
        for n in range(10_000):
            sessions.forget(f"mi-{n}")
        assert not sessions._gone and not sessions._sessions and not sessions._reading

    run(tmp_path, scenario)


def test_forgetting_every_session_makes_agents_verified_again(tmp_path: Path) -> None:
    async def scenario(store: Store, sessions: Sessions) -> None:
        first = await sessions.authenticate("mi-1", "s3cret")
        sessions.clear()  # part of the deregistration feed was missed
        again = await sessions.authenticate("mi-1", "s3cret")
        assert again is not first and not first.gone  # read again, not refused

    run(tmp_path, scenario)
