"""One thread owns the SQLite connection and commits queued work in groups.

Under load, many requests want a transaction at once. Each would pay its own fsync; instead the
writer takes every job waiting in the queue (up to MAX_GROUP), runs each inside its own SAVEPOINT
of one transaction, commits once, and only then answers the callers: every caller still hears
back only after its work is durable, and a job that fails is rolled back alone.

A full disk fails a job with SQLite's SQLITE_FULL (or ENOSPC where SQLite passes the OS error
on): the caller gets the store's own `StoreFull`, which the API answers as a temporary failure.
"""

from __future__ import annotations

import asyncio
import errno
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from assistcli.controller.store.base import StoreFull

R = TypeVar("R")
MAX_GROUP = 256

Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]", asyncio.AbstractEventLoop]
Outcome = tuple["asyncio.Future[Any]", asyncio.AbstractEventLoop, Any, BaseException | None]


def disk_full(error: sqlite3.Error | OSError) -> bool:
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class GroupCommitWriter:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn  # in autocommit mode: the writer issues BEGIN and COMMIT itself
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="sqlite-writer", daemon=True)
        self._thread.start()

    async def run(self, work: Callable[..., R], *args: Any) -> R:
        """`work(connection, *args)` inside a committed transaction."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._jobs.put((work, args, future, loop))
        try:
            return await future
        except (sqlite3.Error, OSError) as error:
            if disk_full(error):
                raise StoreFull(str(error)) from error
            raise

    def close(self) -> None:
        """Finish the queued work, then close the connection."""
        self._jobs.put(None)
        self._thread.join()
        self._conn.close()

    def _serve(self) -> None:
        while (first := self._jobs.get()) is not None:
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)  # stop after this group
                    break
                group.append(job)
            self._commit(group)

    def _commit(self, group: list[Job]) -> None:
        conn = self._conn
        outcomes: list[Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for work, args, future, loop in group:
                outcomes.append((future, loop, *self._attempt(work, args)))
            conn.execute("COMMIT")
        except sqlite3.Error as error:  # the transaction is lost: nothing of it was written
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(future, loop, None, error) for _, _, future, loop in group]
        for future, loop, result, failure in outcomes:
            loop.call_soon_threadsafe(_settle, future, result, failure)

    def _attempt(
        self, work: Callable[..., Any], args: tuple[Any, ...]
    ) -> tuple[Any, Exception | None]:
        """One job in its own savepoint; its failure undoes its writes only."""
        self._conn.execute("SAVEPOINT job")
        try:
            result = work(self._conn, *args)
        except Exception as error:
            if not self._conn.in_transaction:
                raise  # the whole transaction is gone with it
            self._conn.execute("ROLLBACK TO job")
            self._conn.execute("RELEASE job")
            return None, error
        self._conn.execute("RELEASE job")
        return result, None
