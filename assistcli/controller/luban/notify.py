"""The wake-up channel of Alibaba's agent: the WebSocket it opens at `/luban/notify_server`.

When the controller hears news for the instance (work to run or to stop, see notifier.py), it
sends `kick_vm`, and the agent fetches its task list: at once when the agent has fetched since the
last kick, else no sooner than KICK_GAP after it. News heard while a kick is still unanswered is
most often the same work: the fetch that answers the kick takes it (a fetch sees everything
committed before it began), and no second kick follows. A frame of two words (`kick_vm task`) would
stop the agent reading the connection until it restarts, and `kick_vm agent stop|remove` stop or
uninstall it: they are never sent. When the instance is deregistered (DeregisterManagedInstance)
the agent is sent `kick_vm agent deregister`: it asks to deregister (its last signed request,
answered yes), deletes its identity and restarts its service, which also ends the periodic tasks
it holds in memory. The agent answers each frame (`accept:kick_vm`, `unknow:` for that one);
those answers and its pings need nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from starlette.websockets import WebSocket

from assistcli.controller.luban.calls import Call
from assistcli.controller.luban.identity import Identity

logger = logging.getLogger(__name__)

KICK = "kick_vm"
DEREGISTER = "kick_vm agent deregister"
KICK_GAP = 2.0  # seconds between kicks the agent has not answered by fetching
DEPARTURE_WAIT = 10.0  # seconds for the agent told to deregister to ask and answer
POLICY_VIOLATION, GOING_AWAY = 1008, 1001


@dataclass(slots=True, eq=False)  # kept in sets: hashed by identity
class _Watch:
    """One connection's view of its agent's fetches."""

    woken: asyncio.Event  # news not yet taken by a fetch
    last_fetch: float = 0.0  # when its agent last began to fetch (the loop's clock)
    fetched: asyncio.Event = field(default_factory=asyncio.Event)


class Fetches:
    """The agents connected to this controller's WebSocket, and when they last fetched their
    task list, so that a kick they answered already does not hold back the next."""

    def __init__(self) -> None:
        self._watches: dict[str, set[_Watch]] = {}

    @contextlib.contextmanager
    def watching(self, instance_id: str, woken: asyncio.Event) -> Iterator[_Watch]:
        watch = _Watch(woken)
        self._watches.setdefault(instance_id, set()).add(watch)
        try:
            yield watch
        finally:
            watches = self._watches[instance_id]
            watches.discard(watch)
            if not watches:
                del self._watches[instance_id]

    def fetching(self, instance_id: str) -> None:
        """The instance's agent begins a fetch: it takes every piece of news heard so far."""
        now = asyncio.get_running_loop().time()
        for watch in self._watches.get(instance_id, ()):
            watch.woken.clear()
            watch.last_fetch = now
            watch.fetched.set()


async def serve(call: Call, websocket: WebSocket, identity: Identity, fetches: Fetches) -> None:
    try:
        instance_id = await identity.verify(call)
    except Exception as error:
        logger.info("refused a notify connection: %s", error)
        await websocket.close(POLICY_VIOLATION)  # before accepting: a 403
        return
    ctx = call.ctx
    notifier = ctx.notifier
    key = await ctx.store.get_agent_key(instance_id)
    if key is None:  # deregistered since
        await websocket.close(POLICY_VIOLATION)
        return
    await websocket.accept()
    hears = asyncio.ensure_future(websocket.receive())
    loop = asyncio.get_running_loop()
    try:
        with (
            notifier.subscribe(instance_id) as woken,
            fetches.watching(instance_id, woken) as watch,
        ):
            kicked = -KICK_GAP
            while True:
                waiting = asyncio.ensure_future(woken.wait())
                await asyncio.wait({waiting, hears}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                if hears.done():
                    if hears.result()["type"] == "websocket.disconnect":
                        return
                    hears = asyncio.ensure_future(websocket.receive())  # its answer to a kick
                    continue
                if notifier.stopping:
                    await websocket.close(GOING_AWAY)
                    return
                watch.fetched.clear()
                if watch.last_fetch < kicked:  # the last kick is unanswered yet
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            watch.fetched.wait(), kicked + KICK_GAP - loop.time()
                        )
                    if not woken.is_set():  # the fetch that answered it took the news
                        continue
                woken.clear()  # before looking: news from now on wakes it again
                if await ctx.store.get_agent_key(instance_id) is None:  # deregistered
                    identity.departing(instance_id, key, ctx.now)
                    await websocket.send_text(DEREGISTER)
                    # It answers once it has asked to deregister (its request times out in 5 s).
                    await asyncio.wait({hears}, timeout=DEPARTURE_WAIT)
                    if not hears.done() or hears.result()["type"] != "websocket.disconnect":
                        await websocket.close(POLICY_VIOLATION)
                    return
                kicked = loop.time()  # before sending: a fetch it causes comes after
                await websocket.send_text(KICK)
    finally:
        hears.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await hears
