"""The wake-up channel of Alibaba's agent: the WebSocket it opens at `/luban/notify_server`.

When the controller hears news for the instance (work to run or to stop, see notifier.py), it
sends `kick_vm`, and the agent fetches its task list. Only that frame is ever sent: a frame of
two words (`kick_vm task`) stops the agent reading the connection until it restarts, and the
`kick_vm agent ...` frames stop, uninstall or deregister it. The agent answers each frame
(`accept:kick_vm`); those answers and its pings need nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket

from assistcli.controller.luban.calls import Call
from assistcli.controller.luban.identity import Identity

logger = logging.getLogger(__name__)

KICK = "kick_vm"
KICK_GAP = 2.0  # seconds between kicks: the store's news of an instance comes every second
POLICY_VIOLATION, GOING_AWAY = 1008, 1001


async def serve(call: Call, websocket: WebSocket, identity: Identity) -> None:
    try:
        instance_id = await identity.verify(call)
    except Exception as error:
        logger.info("refused a notify connection: %s", error)
        await websocket.close(POLICY_VIOLATION)  # before accepting: a 403
        return
    ctx = call.ctx
    notifier = ctx.notifier
    await websocket.accept()
    hears = asyncio.ensure_future(websocket.receive())
    loop = asyncio.get_running_loop()
    try:
        with notifier.subscribe(instance_id) as woken:
            kicked = 0.0
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
                await asyncio.sleep(max(0.0, kicked + KICK_GAP - loop.time()))
                woken.clear()  # before looking: news from now on wakes it again
                if await ctx.store.get_agent_key(instance_id) is None:  # deregistered
                    await websocket.close(POLICY_VIOLATION)
                    return
                await websocket.send_text(KICK)
                kicked = loop.time()
    finally:
        hears.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await hears
