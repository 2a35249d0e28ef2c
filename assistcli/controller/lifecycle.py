"""What runs beside a controller's requests, from its start to its stop: the store and the
broker opened and closed, the deregistration feed joined before any agent is let in, and the
background tasks (reaper, scheduler, heartbeat flusher, news watcher, feed follower, collector).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from assistcli.controller import deregistrations
from assistcli.controller.context import Context
from assistcli.controller.notifier import watch_interval
from assistcli.controller.scheduler import Scheduler
from assistcli.controller.settings import Settings
from assistcli.controller.store import Store

logger = logging.getLogger(__name__)

OUTPUT_PURGE_INTERVAL = 60.0  # seconds between purges of kept output past its retention
OUTPUT_PURGE_BATCH = 1000  # chunks forgotten per transaction


@contextlib.asynccontextmanager
async def lifetime(context: Callable[[], Context]) -> AsyncIterator[None]:
    """Start what the controller needs before it serves; stop it all on the way out."""
    ctx = context()
    store, broker, settings = ctx.store, ctx.notifier.broker, ctx.settings
    await store.open()
    try:
        await broker.start()
        position = await deregistrations.join(store, ctx.controller_id)
        scheduler = Scheduler(store, ctx.notifier, settings.misfire_grace, ctx.clock)
        interval = watch_interval(settings.delivery_timeout)
        async with _running(
            reap(store, settings, ctx.clock),
            scheduler.run(),
            ctx.sessions.run(),
            ctx.notifier.watch(store, interval),
            deregistrations.follow(context, ctx.controller_id, position),
            collect_garbage(settings.full_collection_interval),
        ):
            yield
    finally:
        with contextlib.suppress(Exception):
            await broker.close()
        await store.close()


@contextlib.asynccontextmanager
async def _running(*work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run each coroutine as a task until the block ends; then cancel them, last first (each
    finishes what it must, the heartbeat flusher its last write), with the store still open."""
    tasks = [asyncio.create_task(coroutine) for coroutine in work]
    try:
        yield
    finally:
        for task in reversed(tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def reap(store: Store, settings: Settings, clock: Callable[[], float]) -> None:
    """End what can no longer end by itself: records nobody picked up within the delivery
    timeout (Aborted / DeliveryTimeout), and runs whose agent went silent (ClientNotResponse);
    forget kept output past its retention.

    Both timeouts count while the controller is up: while it was down, no agent could reach
    it. So each waits one full timeout after start before it ends anything, giving agents the
    time to come back and report."""
    interval = min(1.0, settings.delivery_timeout / 4)
    up_since = next_purge = clock()
    while True:
        now = clock()
        try:
            if now - up_since >= settings.delivery_timeout:
                await store.abort_undelivered(
                    now - settings.delivery_timeout, now, now - settings.heartbeat_window
                )
            if now - up_since >= settings.silent_agent_grace:
                await store.abandon_silent_runs(now, settings.silent_agent_grace)
            if now >= next_purge:
                await purge_output(store, now - settings.output_retention)
                next_purge = now + min(OUTPUT_PURGE_INTERVAL, settings.output_retention / 2)
        except Exception:
            logger.exception("reaping records failed; retrying")
        await asyncio.sleep(interval)


async def purge_output(store: Store, before: float) -> None:
    """Forget the kept output written before `before`, a batch per transaction."""
    while await store.purge_output(before, OUTPUT_PURGE_BATCH) == OUTPUT_PURGE_BATCH:
        pass


async def collect_garbage(interval: float) -> None:
    """Collect the old generation every `interval` seconds: the controller's threshold for it is
    too high to be reached (see server.py), and cyclic garbage must not pile up."""
    while True:
        await asyncio.sleep(interval)
        gc.collect()
