"""Group commit: many callers, one transaction, each answered only after the commit."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from assistcli.controller.store.base import StoreFull
from assistcli.controller.store.sqlite_writer import GroupCommitWriter


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY)")
    return conn


def insert(conn: sqlite3.Connection, n: int) -> int:
    conn.execute("INSERT INTO t VALUES (?)", (n,))
    if n == 7:
        raise ValueError("job 7 fails after writing")
    return n * 10


def test_a_failing_job_is_rolled_back_alone(tmp_path: Path) -> None:
    async def main() -> list[object]:
        writer = GroupCommitWriter(connect(tmp_path / "db"))
        try:
            jobs = [writer.run(insert, n) for n in range(20)]
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            await asyncio.to_thread(writer.close)

    answers = asyncio.run(main())
    assert [a for i, a in enumerate(answers) if i != 7] == [n * 10 for n in range(20) if n != 7]
    assert isinstance(answers[7], ValueError)
    with sqlite3.connect(tmp_path / "db") as check:  # durable, seen by another connection
        rows = [n for (n,) in check.execute("SELECT n FROM t ORDER BY n")]
    assert rows == [n for n in range(20) if n != 7]


def test_a_lost_transaction_fails_every_job_of_its_group(tmp_path: Path) -> None:
    def break_the_transaction(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("ROLLBACK")  # as SQLite does on a full disk

    async def main() -> None:
        writer = GroupCommitWriter(connect(tmp_path / "db"))
        try:
            with pytest.raises(sqlite3.Error):
                await writer.run(break_the_transaction)
            assert await writer.run(insert, 2) == 20  # the writer carries on
        finally:
            await asyncio.to_thread(writer.close)

    asyncio.run(main())
    with sqlite3.connect(tmp_path / "db") as check:
        assert [n for (n,) in check.execute("SELECT n FROM t")] == [2]


def fill_past(pages: int) -> Callable[[sqlite3.Connection], None]:
    def fill(conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
        conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(100_000)])

    return fill


def run_out_of_space(conn: sqlite3.Connection) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("work", [fill_past(4), run_out_of_space], ids=["SQLITE_FULL", "ENOSPC"])
def test_a_full_disk_is_store_full_and_writes_nothing(
    tmp_path: Path, work: Callable[[sqlite3.Connection], None]
) -> None:
    async def main() -> None:
        writer = GroupCommitWriter(connect(tmp_path / "db"))
        try:
            with pytest.raises(StoreFull):
                await writer.run(work)
            await writer.run(lambda conn: conn.execute("PRAGMA max_page_count = 1000000"))
            assert await writer.run(insert, 2) == 20  # writes commit again once there is room
        finally:
            await asyncio.to_thread(writer.close)

    asyncio.run(main())
    with sqlite3.connect(tmp_path / "db") as check:
        assert [n for (n,) in check.execute("SELECT n FROM t")] == [2]
