"""The Store contract for runs' output: what records show (head and tail within the limit) and
what is kept beside them (the whole output, up to a cap, until purged), for every backend."""

from __future__ import annotations

from collections.abc import Callable

from test_store import Scenario, fleet_instance, invocation, report
from test_store import run as run  # the fixture: a fresh store of each backend

from assistcli.controller.store import Store

LIMIT = 10  # what a record shows: its first 5 bytes and its last 5


async def record_of(store: Store, invoke_id: str) -> tuple[bytes, int]:
    inv = await store.get_invocation(invoke_id)
    assert inv is not None
    return inv.targets[0].output, inv.targets[0].dropped


async def kept(store: Store, invoke_id: str, start: int = 0) -> tuple[int, bytes] | None:
    return await store.read_output(invoke_id, "mi-1", 1, start, 1 << 20)


async def streamed(store: Store, chunks: list[bytes], cap: int, **finished: object) -> None:
    """A run on mi-1 whose agent streams `chunks`, then ends Success."""
    await store.add_instance(fleet_instance("mi-1"))
    await store.insert_invocation(invocation("t-1", "mi-1"))
    reports = [report("t-1", 0, "started")]
    reports += [report("t-1", n + 1, "output", output=data) for n, data in enumerate(chunks)]
    reports.append(report("t-1", len(chunks) + 1, "finished", status="Success", **finished))
    for one in reports:  # one batch each, as a slow agent sends them
        await store.apply_reports("mi-1", [one], 20.0, LIMIT, cap)


def test_a_record_shows_the_head_and_the_tail_and_keeps_the_whole(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        await streamed(store, [b"abcd", b"efgh", b"ijkl", b"mnop"], cap=1000)
        assert await record_of(store, "t-1") == (b"abcdelmnop", 6)
        assert await kept(store, "t-1") == (0, b"abcdefghijklmnop")
        assert await kept(store, "t-1", 7) == (7, b"hijklmnop")
        assert await kept(store, "t-1", 99) == (99, b"")

    run(scenario)


def test_an_output_that_fits_its_record_is_kept_there_alone(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        await streamed(store, [b"abcd", b"efgh"], cap=1000)
        assert await record_of(store, "t-1") == (b"abcdefgh", 0)
        assert await kept(store, "t-1") is None  # the record holds all there is

    run(scenario)


def test_the_cap_bounds_what_is_kept_not_what_the_record_shows(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        await streamed(store, [b"abcd", b"efgh", b"ijkl", b"mnop"], cap=11, dropped=3)
        assert await record_of(store, "t-1") == (b"abcdelmnop", 6 + 3)
        assert await kept(store, "t-1") == (0, b"abcdefghijk")

    run(scenario)


def test_without_a_cap_nothing_is_kept(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await streamed(store, [b"abcd", b"efgh", b"ijkl"], cap=0)
        assert await record_of(store, "t-1") == (b"abcdehijkl", 2)
        assert await kept(store, "t-1") is None

    run(scenario)


def test_an_agent_that_sends_a_head_and_a_tail_is_shown_as_it_sends(
    run: Callable[[Scenario], None],
) -> None:
    """Agents that cut the middle themselves (agentd, to a controller that keeps nothing, and
    older ones) send no more than a record shows, with the bytes cut in `dropped`."""

    async def scenario(store: Store) -> None:
        await streamed(store, [b"abcde"], cap=1000, output=b"vwxyz", dropped=16)
        assert await record_of(store, "t-1") == (b"abcdevwxyz", 16)
        assert await kept(store, "t-1") is None

    run(scenario)


def test_kept_output_is_purged_by_age(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await streamed(store, [b"abcdefgh", b"ijklmnop"], cap=1000)  # written at 20.0
        assert await store.purge_output(20.0, 100) == 0
        assert await store.purge_output(20.5, 1) == 1
        assert await store.purge_output(20.5, 100) == 1
        assert await kept(store, "t-1") is None
        assert await record_of(store, "t-1") == (b"abcdelmnop", 6)  # records are not purged

    run(scenario)
