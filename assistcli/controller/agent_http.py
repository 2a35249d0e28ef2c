"""The agents' HTTP front: a lean ASGI app for `/agent/v1/*`; every other request goes on to the
API's Starlette app.

Agents send most of the controller's requests. They need none of what the API's framework adds
to each one (routing, two middlewares, request objects, URL building); under a fleet's polling
that was about a fifth of the controller's CPU.

An answer not ready within `keepalive` seconds (a long poll) is streamed: the 200 goes out, then a
newline every `keepalive` seconds, so that proxies and NAT tables keep the connection, and a dead
peer is found by the kernel (see server.py); then the JSON. Should the request fail after that,
the connection is dropped unanswered and the agent polls again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistcli.controller.bodies import read_body
from assistcli.controller.context import Context
from assistcli.controller.responses import JSON_TYPE, answer
from assistcli.errors import ApiError

MAX_BODY = 8 * 1024 * 1024  # a report batch is far smaller; anything bigger is not an agent's


@dataclass(slots=True)
class AgentRequest:
    headers: dict[str, str]  # names in lower case
    body: bytes
    client_host: str
    receive: Receive  # with the body read, its next message is the client hanging up


Handler = Callable[[Context, AgentRequest], Awaitable[dict[str, Any]]]


class AgentFront:
    def __init__(
        self,
        api: ASGIApp,
        routes: dict[str, Handler],
        context: Callable[[], Context],
        keepalive: float,
    ) -> None:
        self.api, self.routes, self.context = api, routes, context
        self.keepalive = keepalive
        self._streams: dict[Send, float] = {}  # answers being streamed -> next newline due
        self._sweeper: asyncio.Task[None] | None = None

    def stop(self) -> None:
        """The server is stopping: held polls answer now instead of holding it up."""
        self.context().notifier.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if handler is None:
            await self.api(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")

        async def work() -> tuple[str, dict[str, Any]]:
            if scope["method"] != "POST":
                what = f"{scope['method']} {scope['path']} is not served."
                raise ApiError("UnsupportedHTTPMethod", what, status=405)
            body = await read_body(receive, headers, MAX_BODY, too_large)
            request = AgentRequest(headers, body, client[0] if client else "", receive)
            return scope["path"], await handler(self.context(), request)

        host = host_name(headers.get("host", ""))
        answering = asyncio.ensure_future(answer(work, scope["path"], host, quiet=True))
        try:
            streaming = not (await asyncio.wait({answering}, timeout=self.keepalive))[0]
            if streaming:
                await send(start(200))  # no length: chunked
                await self._stream(send, answering)
        finally:
            answering.cancel()  # nothing left to do, unless the server is stopping
        status, body = answering.result()
        if not streaming:
            await send(start(status, len(body)))
        elif status != 200:
            return  # too late for its status: uvicorn drops the connection unanswered
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, send: Send, answering: asyncio.Future[Any]) -> None:
        """Wait for the answer; meanwhile one sweeper sends every stream its newlines."""
        self._streams[send] = time.monotonic() + self.keepalive  # the latest due: order holds
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep())
        try:
            await asyncio.wait({answering})
        finally:
            self._streams.pop(send, None)

    async def _sweep(self) -> None:
        """Send each stream a newline every `keepalive` seconds, a slice at a time: one task for
        all of them (a timer per stream costs more than its newline), and no burst of 10,000
        sends holding up the loop. Streams are kept in the order their newlines fall due.

        A send completes without waiting: it would wait only on a peer that left 64 KB unread,
        and a poll's stream is a few bytes a minute."""
        tick = min(1.0, self.keepalive / 4)
        try:
            while self._streams:
                await asyncio.sleep(tick)
                now = time.monotonic()
                while self._streams:
                    send, due = next(iter(self._streams.items()))
                    if due > now:
                        break
                    del self._streams[send]
                    self._streams[send] = now + self.keepalive  # to the back of the line
                    with contextlib.suppress(RuntimeError):  # ended while a send waited
                        await send(NEWLINE)
        finally:
            self._sweeper = None  # the next stream starts another


NEWLINE: Message = {"type": "http.response.body", "body": b"\n", "more_body": True}


def start(status: int, length: int | None = None) -> Message:
    headers = [(b"content-type", JSON_TYPE.encode())]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": status, "headers": headers}


def host_name(header: str) -> str:
    """The host of a Host header: without its port, an IPv6 address without its brackets."""
    host = header.rsplit(":", 1)[0] if header.rfind(":") > header.rfind("]") else header
    return host.strip("[]") or "localhost"


def too_large(limit: int) -> ApiError:
    return ApiError.of("Agent.InvalidRequest", why=f"the body is over {limit} bytes.")
