"""SQLite's writes are correct without its single writer: a decision made on a stale read (as
READ COMMITTED allows, see store/base.py) writes nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from assistcli.api.agent import Report
from assistcli.api.status import RecordStatus
from assistcli.controller.models import Invocation, Target
from assistcli.controller.store import sql_schedule as schedule
from assistcli.controller.store.sql_rows import target_of
from assistcli.controller.store.sqlite import SqliteStore

ERROR = ("DeliveryTimeout", "The command delivery has been timeout.")


def through_a_store(path: Path, work: Callable[[SqliteStore], Awaitable[object]]) -> None:
    """`work` done by a store of its own (another controller, say)."""

    async def main() -> None:
        store = SqliteStore(path)
        await store.open()
        try:
            await work(store)
        finally:
            await store.close()

    asyncio.run(main())


def stored(path: Path) -> None:
    """t-1 on mi-1, Pending."""
    through_a_store(
        path,
        lambda store: store.insert_invocation(
            Invocation(
                invoke_id="t-1",
                command_id="c-1",
                command_name="cmd",
                command_type="RunShellScript",
                content=b"true",
                creation_time=10.0,
                targets=[
                    Target(
                        invoke_id="t-1",
                        instance_id="mi-1",
                        status=RecordStatus.PENDING,
                        creation_time=10.0,
                    )
                ],
            )
        ),
    )


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def read(conn: sqlite3.Connection) -> Target:
    return target_of(conn.execute("SELECT * FROM targets WHERE invoke_id = 't-1'").fetchone())


def end(conn: sqlite3.Connection, record: Target) -> list[Target]:
    conn.execute("BEGIN IMMEDIATE")
    ended = schedule.end_runs(conn, [record], RecordStatus.ABORTED, ERROR, 100.0)
    conn.execute("COMMIT")
    return ended


def test_a_reaper_that_read_a_record_before_its_report_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "assist.db"
    stored(path)
    conn = connect(path)
    stale = read(conn)  # Pending: the reaper would abort it
    started = Report(invoke_id="t-1", seq=0, event="started", time=15.0)
    through_a_store(path, lambda store: store.apply_reports("mi-1", [started], 20.0, 1024))
    assert end(conn, stale) == []
    record = read(conn)
    assert (record.status, record.error_code) == ("Running", "")
    assert [t.status for t in end(conn, record)] == ["Aborted"]  # read afresh, it may end


def test_an_ending_is_not_written_over_a_newer_lease(tmp_path: Path) -> None:
    path = tmp_path / "assist.db"
    stored(path)
    conn = connect(path)
    stale = read(conn)
    conn.execute("UPDATE targets SET lease_until = 130.0")  # a claim delivered it meanwhile
    assert end(conn, stale) == []
    assert read(conn).status == "Pending"
