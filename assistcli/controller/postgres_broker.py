"""Wake-ups between controllers that share a PostgreSQL store: LISTEN/NOTIFY (see broker.py).

Each controller holds two connections of its own, outside the store's pool: one that only
listens, so that a notification is read the moment it arrives, and one that publishes. A
publish wakes this controller's own polls at once and queues the ids; the publisher sends what
has queued as few notifications as fit (ids only, comma-separated, up to PAYLOAD bytes each),
so a burst of invocations costs a handful of messages, never one per instance. Both
connections come back after a failure, with backoff; what was announced meanwhile is lost, and
the store's news query (Notifier.watch) finds it within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Collection, Iterator
from typing import Any

import psycopg
from psycopg import sql

from assistcli.controller.broker import EventBroker

logger = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[Any]

PAYLOAD = 7900  # bytes of ids per notification (PostgreSQL refuses more than 8000)
RETRY = (0.2, 5.0)  # seconds: first and longest wait before connecting again
CONNECT_TIMEOUT = 5
# A connection that silently stops answering (a cut without a reset) is given up in about a
# minute, instead of the kernel's quarter of an hour: the listener would hear nothing meanwhile.
KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,  # ms an unacknowledged send may wait
}


def channel(schema: str) -> str:
    """The channel of the stores in `schema`, within PostgreSQL's 63 bytes for a name."""
    name = f"assist_news:{schema}"
    if len(name.encode()) > 63:
        name = "assist_news:" + hashlib.sha256(schema.encode()).hexdigest()[:32]
    return name


def payloads(instance_ids: Collection[str]) -> Iterator[str]:
    """The ids as comma-separated payloads of at most PAYLOAD bytes."""
    batch: list[str] = []
    size = 0
    for instance_id in sorted(instance_ids):
        if batch and size + len(instance_id) + 1 > PAYLOAD:
            yield ",".join(batch)
            batch, size = [], 0
        batch.append(instance_id)
        size += len(instance_id) + 1
    if batch:
        yield ",".join(batch)


class PostgresEventBroker(EventBroker):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._queued: set[str] = set()
        self._pending = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._own_pid: int | None = None  # the publisher's backend: its messages are heard already
        self._channel = ""
        self._listening = asyncio.Event()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, **KEEPALIVES
        )
        try:
            if not self._channel:  # per schema: stores in other schemas of the database differ
                found = await (await conn.execute("SELECT current_schema()")).fetchone()
                self._channel = channel(found[0] if found else "public")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="broker-listen"),
            asyncio.create_task(self._publish(), name="broker-publish"),
        ]
        # Wait (briefly) until listening, so that what is published after start is heard.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), CONNECT_TIMEOUT)

    async def close(self) -> None:
        self._listeners.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    def publish(self, instance_ids: Collection[str]) -> None:
        if not instance_ids:
            return
        self._heard(instance_ids)
        self._queued.update(instance_ids)
        self._pending.set()

    # The two connections ----------------------------------------------------------------------
    async def _listen(self) -> None:
        async def setup(conn: Connection) -> None:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self._listening.set()

        async def serve(conn: Connection) -> None:
            async for message in conn.notifies():
                if message.pid != self._own_pid and message.payload:
                    self._heard(message.payload.split(","))

        await self._keep(
            "listening for other controllers' news", setup, serve, self._listening.clear
        )

    async def _publish(self) -> None:
        async def setup(conn: Connection) -> None:
            self._own_pid = conn.info.backend_pid

        async def serve(conn: Connection) -> None:
            while True:
                await self._pending.wait()
                self._pending.clear()
                ids, self._queued = self._queued, set()
                for payload in payloads(ids):
                    await conn.execute("SELECT pg_notify(%s, %s)", (self._channel, payload))

        def lost() -> None:
            self._own_pid = None

        await self._keep("announcing news to other controllers", setup, serve, lost)

    async def _keep(
        self,
        what: str,
        setup: Callable[[Connection], Awaitable[None]],
        serve: Callable[[Connection], Awaitable[None]],
        lost: Callable[[], None],
    ) -> None:
        """Until cancelled: on a connection of its own, `setup` then `serve`; after a failure,
        `lost`, then connect again, waiting twice as long each time in a row (RETRY)."""
        wait = RETRY[0]
        while True:
            try:
                conn = await self._connect()
                async with conn:
                    await setup(conn)
                    wait = RETRY[0]
                    await serve(conn)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("%s failed: %s", what, error)
            lost()
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY[1])
