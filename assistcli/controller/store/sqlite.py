"""SQLite backend: one connection owned by one writer thread, WAL, synchronous=FULL.

Every call runs on that thread and is committed before it returns (in groups under load, see
sqlite_writer.py), so an acknowledged write survives a crash of the process and, with
synchronous=FULL, of the machine.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from assistcli.controller.store.schema import migrations
from assistcli.controller.store.sql_store import SqlStore
from assistcli.controller.store.sqlite_writer import GroupCommitWriter

R = TypeVar("R")


class SqliteStore(SqlStore):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._writer: GroupCommitWriter | None = None

    async def _run(self, work: Callable[..., R], *args: Any) -> R:
        assert self._writer is not None, "store is not open"
        return await self._writer.run(work, *args)

    # Lifecycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        self._writer = GroupCommitWriter(await asyncio.to_thread(self._connect))

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)  # secrets live here
        os.close(fd)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "applied_at REAL NOT NULL)"
        )
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, script in migrations():
            if version not in applied:
                conn.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nINSERT INTO schema_migrations "
                    f"VALUES ({version}, {time.time()});\nCOMMIT;"
                )
        return conn

    async def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await asyncio.to_thread(writer.close)
