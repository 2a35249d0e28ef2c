"""Deregistered instances are refused at once by every running controller.

A controller remembers the agents it verified (sessions.py), so deregistering an instance must
reach every controller that may remember it, wherever it was done: the DeregisterManagedInstance
action on this controller or another one sharing the store, or `assistcli controller instance
remove` in a process of its own. Each deregistration is appended to a feed in the store; every
controller follows the feed a few times a second, forgets the instances in it and answers their
held polls with a refusal, then records how far it got. Whatever deregisters (the action, the
command) waits until every other controller seen lately has caught up, so once it returns, the
agent is refused everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable

from assistcli.controller.context import Context
from assistcli.controller.store import Store

logger = logging.getLogger(__name__)

FOLLOW_INTERVAL = 0.2  # seconds between reads of the feed
SEEN_EVERY = 5.0  # seconds between a controller's reports that it is alive, when nothing changed
ALIVE = 3 * SEEN_EVERY  # a controller seen within this long is running
WAIT = 5.0  # seconds a command waits for the controllers to catch up
# The store may forget entries a day old (see Store.deregistrations): a controller that could not
# read the feed for this long may have missed some, and verifies every agent again.
MISSED = 12 * 3600.0

# Liveness is compared across processes (a command and the controllers it waits for), so these
# times are the machines' clocks, never a controller's injected one.


def release(ctx: Context, instance_id: str) -> None:
    """Forget a deregistered instance: its agent's next request is refused, and so is the poll
    it holds now (woken here to find its instance gone)."""
    ctx.sessions.forget(instance_id)
    ctx.notifier.wake([instance_id])
    ctx.notifier.forget(instance_id)


def controller_id() -> str:
    """Names this controller process in the store (and in a lagging command's warning)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def join(store: Store, me: str) -> int:
    """Start following the feed at its position now, which is returned. Call it before any
    agent is let in: every deregistration committed after it is applied by follow()."""
    _, position = await store.deregistrations(None)
    await store.controller_seen(me, position, time.time())
    return position


async def follow(context: Callable[[], Context], me: str, position: int) -> None:
    """Apply the feed from `position` until cancelled; on the way out, say this controller
    stopped."""
    store = context().store
    said = read = time.monotonic()
    try:
        while True:
            await asyncio.sleep(FOLLOW_INTERVAL)
            try:
                removed, reached = await store.deregistrations(position)
                ctx = context()
                if time.monotonic() - read > MISSED:
                    logger.warning("the deregistration feed was out of reach; verifying agents")
                    ctx.sessions.clear()
                read = time.monotonic()
                for instance_id in removed:
                    release(ctx, instance_id)
                if reached != position or time.monotonic() - said >= SEEN_EVERY:
                    await store.controller_seen(me, reached, time.time())
                    said = time.monotonic()
                position = reached
            except Exception:
                logger.exception("following deregistrations failed; retrying")
    finally:
        with contextlib.suppress(Exception):
            await store.controller_seen(me, None, time.time())


async def wait_released(ctx: Context) -> None:
    """Once this controller released a deregistered instance, wait for the other controllers to
    follow (they read it from the feed), so that none lets its agent in after the answer."""
    _, position = await ctx.store.deregistrations(None)
    lagging = await wait_applied(ctx.store, position, me=ctx.controller_id)
    if lagging:
        logger.warning("controllers %s have not applied a deregistration yet", ", ".join(lagging))


async def wait_applied(
    store: Store, position: int, patience: float = WAIT, me: str | None = None
) -> list[str]:
    """Wait until every running controller (but `me`, which released the instance itself) has
    applied the feed up to `position`; returns those that had not within `patience` seconds."""
    deadline = time.monotonic() + patience
    while True:
        behind = await store.controllers_behind(position, time.time() - ALIVE)
        behind = [controller for controller in behind if controller != me]
        if not behind or time.monotonic() >= deadline:
            return behind
        await asyncio.sleep(FOLLOW_INTERVAL / 4)
