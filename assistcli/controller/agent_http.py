"""The agents' HTTP front: a lean ASGI app for `/agent/v1/*`; every other request goes on to the
API's Starlette app.

Agents send most of the controller's requests. They need none of what the API's framework adds
to each one (routing, two middlewares, request objects, URL building); under a fleet's polling
that was about a fifth of the controller's CPU.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
        self, api: ASGIApp, routes: dict[str, Handler], context: Callable[[], Context]
    ) -> None:
        self.api, self.routes, self.context = api, routes, context

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
            body = await read_body(receive)
            request = AgentRequest(headers, body, client[0] if client else "", receive)
            return scope["path"], await handler(self.context(), request)

        host = host_name(headers.get("host", ""))
        status, body = await answer(work, scope["path"], host, quiet=True)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", JSON_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def host_name(header: str) -> str:
    """The host of a Host header: without its port, an IPv6 address without its brackets."""
    host = header.rsplit(":", 1)[0] if header.rfind(":") > header.rfind("]") else header
    return host.strip("[]") or "localhost"


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError.of("Agent.InvalidRequest", why="the client hung up.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError.of("Agent.InvalidRequest", why=f"the body is over {MAX_BODY} bytes.")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)
