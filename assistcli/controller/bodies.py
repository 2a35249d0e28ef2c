"""Reading a request's body within a bound, so that no client makes the controller buffer more.

A declared Content-Length over the bound is refused before a byte of the body is read; a chunked
body as soon as it passes the bound. What the client still sends is discarded by the HTTP layer
(see server.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive

from assistcli.errors import ApiError

TooLarge = Callable[[int], ApiError]  # the bound -> the error to answer


async def read_body(
    receive: Receive, headers: Mapping[str, str], limit: int, too_large: TooLarge
) -> bytes:
    """The whole body; `too_large(limit)` past the bound, ClientDisconnect if the client left."""
    if declared_length(headers) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def declared_length(headers: Mapping[str, str]) -> int:
    """The Content-Length the client declared; 0 when there is none (a chunked body)."""
    try:
        return int(headers.get("content-length", "0"))
    except ValueError:  # the parser refuses a malformed length before the app sees it
        return 0
