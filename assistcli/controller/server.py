"""Run the controller in the foreground with uvicorn."""

from __future__ import annotations

import logging

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


def protocol_for(settings: Settings) -> type[BoundedHttpToolsProtocol]:
    return type("Protocol", (BoundedHttpToolsProtocol,), {"max_head": settings.max_request_line})


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = open_store(settings.store_url, settings.data_dir)
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
