"""Run the controller in the foreground with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from assistcli.controller.app import create_app
from assistcli.controller.settings import Settings
from assistcli.controller.store import open_store


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a bound on a request's head and room for long URLs.

    httptools (llhttp, in C) parses several times faster than h11, which matters to a controller
    answering thousands of agent polls. Two of its limits differ from what the API needs:
    - it sets no bound on the head (request line and headers) of its own, so one is kept here: a
      head over `max_head` gets uvicorn's 400 and the connection is closed;
    - its URL splitter stops at 64 KB, and the SDKs put whole scripts, or a 100 KB bad value,
      in the query string: a longer URL is split here, so the API can answer in its own shape.
    """

    max_head = 1024 * 1024
    SPLITTER_LIMIT = 0xFFFF

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            find_dead_peers(sock)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        url = self.url
        if len(url) <= self.SPLITTER_LIMIT:
            return super().on_headers_complete()
        self.url, _, query = url.partition(b"?")
        try:
            super().on_headers_complete()  # the request starts on the loop's next turn
        finally:
            self.url = url
        self.scope["query_string"] = query.partition(b"#")[0]

    def _count(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self.max_head:
            raise httptools.HttpParserError("request head too large")


def find_dead_peers(sock: socket.socket) -> None:
    """Let the kernel drop the connection of a peer that is gone without a word (powered off,
    cut off): probes after a minute of silence, and a limit on how long data sent (the newlines
    of a held poll) may go unacknowledged. Until then its poll would count it as connected."""
    options = [
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPIDLE", None), 60),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPINTVL", None), 10),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPCNT", None), 3),
        (socket.IPPROTO_TCP, getattr(socket, "TCP_USER_TIMEOUT", None), 60_000),  # ms
    ]
    for level, name, value in options:
        if name is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(level, name, value)


def tune_garbage_collection() -> None:
    """A connected fleet keeps a million objects alive (each held poll is a connection, tasks and
    their frames), and a full collection walks all of them: a tenth of a second or more with
    10,000 agents, several times a minute at the default thresholds. So the young generations
    are collected less often, the old one only by the controller's own timer (see app.py), and
    what start-up made is left out of collections for good."""
    gc.set_threshold(50_000, 2, 1_000_000)
    gc.freeze()


def protocol_for(settings: Settings) -> type[BoundedHttpToolsProtocol]:
    return type("Protocol", (BoundedHttpToolsProtocol,), {"max_head": settings.max_request_line})


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = open_store(settings.store_url, settings.data_dir)
    tune_garbage_collection()
    config = uvicorn.Config(
        create_app(settings, store),
        host=settings.host,
        port=settings.port,
        http=protocol_for(settings),
        loop="auto",  # uvloop where it is installed (not on Windows)
        access_log=False,  # the app logs one line per request, without parameters
        log_level="info",
        lifespan="on",
        timeout_graceful_shutdown=3,  # long polls end with the server instead of holding it up
    )
    uvicorn.Server(config).run()
