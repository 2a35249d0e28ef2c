"""PostgreSQL backend: several controllers share one database.

Every call runs its query function (sql_*.py, the same as SQLite's) in one transaction at READ
COMMITTED on a pooled connection, in a worker thread. What keeps concurrent calls correct is
written in base.py (conditional writes, lock-then-read, unique keys); a deadlock or
serialization failure the database breaks is retried here, as a whole call. Migrations
(migrations/postgresql/) are applied at open under an advisory lock, so controllers that start
together apply each exactly once. The URL is libpq's: `postgresql://USER@HOST:PORT/DB`, with any
of its parameters (`?sslmode=...`, `?options=-csearch_path%3Dfleet` for a schema of its own).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg import errors

from assistcli.controller.store import redacted
from assistcli.controller.store.base import INTERACTIVE, StoreFull, StoreUnavailable
from assistcli.controller.store.postgres_db import FlagDumper, PgDb, rows
from assistcli.controller.store.schema import migrations
from assistcli.controller.store.sql_store import SqlStore

logger = logging.getLogger(__name__)

R = TypeVar("R")

POOL_SIZE = 16  # connections (and worker threads) per controller for agents' calls
CLIENT_THREADS = 4  # and for API clients' calls (base.INTERACTIVE), so they queue apart
MAX_IDLE = 60.0  # seconds a connection beyond the first may stay unused before it is closed
CONNECT_TIMEOUT = 10.0  # seconds to wait for a connection before the call fails
RETRIES = 8  # attempts of a call the database aborted to break a deadlock
RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure)
MIGRATION_LOCK = "assist migrations"  # hashed into the advisory lock's key, per schema


def configure(conn: psycopg.Connection[Any]) -> None:
    conn.row_factory = rows
    conn.adapters.register_dumper(bool, FlagDumper)


class PostgresStore(SqlStore):
    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        super().__init__()
        self.url = url
        self.pool_size = pool_size
        self._pool: psycopg_pool.ConnectionPool[Any] | None = None
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None
        self._client_threads: concurrent.futures.ThreadPoolExecutor | None = None
        self.aborted_calls = 0  # calls the database aborted (deadlocks) and that ran again

    # Lifecycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        self._threads = concurrent.futures.ThreadPoolExecutor(
            self.pool_size, thread_name_prefix="postgres"
        )
        self._client_threads = concurrent.futures.ThreadPoolExecutor(
            CLIENT_THREADS, thread_name_prefix="postgres-client"
        )
        self._pool = psycopg_pool.ConnectionPool(
            self.url,
            min_size=1,
            max_size=self.pool_size + CLIENT_THREADS,  # a connection for every thread
            configure=configure,
            timeout=CONNECT_TIMEOUT,
            max_idle=MAX_IDLE,
            open=False,
            name="assist",
        )
        try:
            await self._in_thread(self._open_pool)
            await self._in_thread(self._migrate)
        except BaseException:
            await self.close()
            raise

    def _open_pool(self) -> None:
        assert self._pool is not None
        try:  # once alone first: the pool would retry a refusal quietly until its timeout
            psycopg.connect(self.url, connect_timeout=int(CONNECT_TIMEOUT)).close()
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
            reason = " ".join(str(error).split())  # libpq's lines, on one
            raise StoreUnavailable(
                f"cannot connect to PostgreSQL at {redacted(self.url)}: {reason}"
            ) from None

    def _migrate(self) -> None:
        assert self._pool is not None
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(current_schema() || %s))",
                (MIGRATION_LOCK,),
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
                "applied_at DOUBLE PRECISION NOT NULL)"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, script in migrations("postgresql"):
                if version not in applied:
                    conn.execute(script.encode())  # bytes: a script, no placeholders
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (%s, %s)", (version, time.time())
                    )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        executors = (self._threads, self._client_threads)
        self._threads = self._client_threads = None
        if pool is not None:
            await asyncio.to_thread(pool.close)
        for executor in executors:
            if executor is not None:
                executor.shutdown(wait=False)

    async def _in_thread(self, work: Callable[[], R]) -> R:
        executor = self._client_threads if INTERACTIVE.get() else self._threads
        assert executor is not None, "store is not open"
        return await asyncio.get_running_loop().run_in_executor(executor, work)

    # Calls ----------------------------------------------------------------------------------
    async def _run(self, work: Callable[..., R], *args: Any) -> R:
        return await self._in_thread(lambda: self._transaction(work, args))

    def _transaction(self, work: Callable[..., R], args: tuple[Any, ...]) -> R:
        pool = self._pool
        assert pool is not None, "store is not open"
        for attempt in range(1, RETRIES + 1):
            try:
                with pool.connection() as conn, conn.transaction():
                    return work(PgDb(conn), *args)
            except RETRYABLE as aborted:
                self.aborted_calls += 1
                if attempt == RETRIES:
                    raise
                logger.debug("retrying a call the database aborted: %s", aborted)
                time.sleep(0.005 * attempt)
            except errors.DiskFull as full:
                raise StoreFull(str(full)) from full
            except (psycopg_pool.PoolTimeout, psycopg.OperationalError) as down:
                raise StoreUnavailable(f"PostgreSQL is unavailable: {down}") from down
        raise AssertionError("unreachable")
