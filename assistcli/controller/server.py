"""Run the controller in the foreground with uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import socket

import httptools
import uvicorn
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from assistcli.controller.agent_http import AgentFront, host_name
from assistcli.controller.app import create_app
from assistcli.controller.broker import EventBroker, LocalEventBroker
from assistcli.controller.ids import request_id
from assistcli.controller.responses import JSON_TYPE, error_body, json_bytes
from assistcli.controller.settings import (
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    MAX_CONNECTIONS,
    Settings,
)
from assistcli.controller.store import is_postgres, open_store, redacted
from assistcli.errors import ApiError

logger = logging.getLogger(__name__)

OVER_CAPACITY = "The controller serves as many connections as it may; try again later."
SPARE_FILES = 64  # descriptors kept for the store, its journal and the listening socket


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with bounds on what a client may take, room for long URLs,
    and refusals in the API's error shape.

    httptools (llhttp, in C) parses several times faster than h11, which matters to a controller
    answering thousands of agent polls. What it and uvicorn leave open is closed here:
    - a request head over `max_head` is refused (httptools sets no bound of its own);
    - its URL splitter stops at 64 KB, and the SDKs put whole scripts, or a 100 KB bad value,
      in the query string: a longer URL is split here, so the API can answer in its own shape;
    - a slow client is dropped: the first head must be complete `head_timeout` seconds after the
      accept, a later one that long after its first byte, and a body `body_timeout` seconds after
      its head (uvicorn closes an idle kept-alive connection, but waits for ever on a connection
      that sent nothing yet, or half a request). What the server takes to answer is not bounded:
      an agent's long poll is held for minutes;
    - past `max_connections`, a connection's request is answered 503 and the connection closed;
    - what httptools cannot parse is answered 400 in the API's error body, not in plain text.
    """

    max_head = 1024 * 1024
    head_timeout = HEAD_TIMEOUT
    body_timeout = BODY_TIMEOUT
    max_connections = MAX_CONNECTIONS
    SPLITTER_LIMIT = 0xFFFF

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._in_message = False  # between a request's first byte and the end of its body
        self._head_size, self._malformed = 0, ""
        if len(self.connections) > self.max_connections:
            self.app = over_capacity
        self._expect(self.head_timeout)  # the first head is due this long after the accept
        sock = transport.get_extra_info("socket")
        if sock is not None:
            find_dead_peers(sock)

    def connection_lost(self, exc: Exception | None) -> None:
        self._expect(None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and not self._in_message:
            self._expect(self.head_timeout)  # these bytes begin the next request's head
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_message, self._head_size = True, 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._expect(self.body_timeout)
        url = self.url
        if len(url) <= self.SPLITTER_LIMIT:
            return super().on_headers_complete()
        self.url, _, query = url.partition(b"?")
        try:
            super().on_headers_complete()  # the request starts on the loop's next turn
        finally:
            self.url = url
        self.scope["query_string"] = query.partition(b"#")[0]

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_message = False
        self._expect(None)
        if self.cycle is not None and self.cycle.response_complete:
            # Answered before its body ended (refused as too large, say): the rest of the body
            # was discarded, and the connection now waits for its next request.
            self._unset_keepalive_if_required()
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def send_400_response(self, msg: str) -> None:
        """Answer what httptools cannot parse in the API's error body, then close."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:  # too late for another status
                self.transport.close()
                return
            cycle.disconnected = True  # its app stops; this answer is the request's
            cycle.message_event.set()
        why = self._malformed or "it is not valid HTTP/1.1."
        error = ApiError.of("InvalidRequest.Malformed", why=why)
        headers = dict(self.headers or [])
        body = error_bytes(error, host_name(headers.get(b"host", b"").decode("latin-1")))
        head = [STATUS_LINE[error.status]]
        head += [b"%s: %s\r\n" % pair for pair in self.server_state.default_headers]
        head += [
            b"content-type: %s\r\n" % JSON_TYPE.encode(),
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join([*head, body]))
        self.transport.close()

    def _count(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self.max_head:
            self._malformed = f"the request head is over {self.max_head} bytes."
            raise httptools.HttpParserError(self._malformed)

    def _expect(self, within: float | None) -> None:
        """Drop the connection unless the client sends what is due `within` seconds."""
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None if within is None else self.loop.call_later(within, self._late)

    def _late(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            logger.debug("closing a connection whose client was too slow: %s", self.client)
            self.transport.close()


async def over_capacity(scope: Scope, receive: Receive, send: Send) -> None:
    """The app of a connection past the limit: 503 in the API's error body, then it closes."""
    headers = dict(scope["headers"])
    host = host_name(headers.get(b"host", b"").decode("latin-1"))
    body = error_bytes(ApiError("ServiceUnavailable", OVER_CAPACITY), host)
    start: Message = {
        "type": "http.response.start",
        "status": 503,
        "headers": [
            (b"content-type", JSON_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})


def error_bytes(error: ApiError, host: str) -> bytes:
    return json_bytes(error_body(error, request_id(), host))


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
    bounds = {
        "max_head": settings.max_request_line,
        "head_timeout": settings.head_timeout,
        "body_timeout": settings.body_timeout,
        "max_connections": fit_open_files(settings.max_connections),
    }
    return type("Protocol", (BoundedHttpToolsProtocol,), bounds)


def fit_open_files(connections: int) -> int:
    """Each connection holds a file descriptor: raise the soft limit on open files to fit
    `connections` (as far as the hard limit allows), and return how many fit. Past the limit,
    accepting would fail without an answer; under it, the connections past the cap get a 503."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
    if soft != resource.RLIM_INFINITY and soft < wanted:
        fit = max(soft - SPARE_FILES, 1)
        logger.warning("open files are limited to %d: serving at most %d connections", soft, fit)
        return fit
    return connections


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


CLOSE_GRACE = 0.5  # seconds for a connection closed at stop to see its peer's answer


class ControllerServer(uvicorn.Server):
    """uvicorn's server, which answers held polls as it stops.

    Without that, uvicorn would wait for every held poll to end (up to minutes), then cancel
    them after its graceful timeout, logging each as an error and answering agents 500."""

    def __init__(self, config: uvicorn.Config, front: AgentFront) -> None:
        super().__init__(config)
        self.front = front

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.front.stop()  # before uvicorn waits for connections: they close once answered
        stopping = asyncio.ensure_future(super().shutdown(sockets))
        await asyncio.wait({stopping}, timeout=CLOSE_GRACE)
        # A TLS connection being closed waits for its peer's close_notify. Alibaba's agent sends
        # it 5 s after its WebSocket closed, and reconnects 6 s after: waiting for it would
        # hold up a restart until the agent finds no controller and stops listening for 30 min.
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)  # asyncio's or uvloop's
            if transport is not None and transport.is_closing():
                transport.abort()
        await stopping


def broker_for(settings: Settings) -> EventBroker:
    """How this controller hears the news of others sharing its store: PostgreSQL's
    LISTEN/NOTIFY, or nobody (a SQLite store has one controller)."""
    url = settings.store_url
    if url is not None and is_postgres(url):
        from assistcli.controller.postgres_broker import PostgresEventBroker

        logger.info("keeping state in %s", redacted(url))
        return PostgresEventBroker(url)
    return LocalEventBroker()


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = open_store(settings.store_url, settings.data_dir)
    tune_garbage_collection()
    tls = settings.tls
    if tls is None and not is_loopback(settings.host):
        logger.warning(
            "SERVING PLAIN HTTP ON %s: secrets and scripts cross the network unencrypted. "
            "Run `assistcli controller tls init --host NAME`, or pass --tls-cert and --tls-key.",
            settings.host,
        )
    front = create_app(settings, store, broker_for(settings))
    config = uvicorn.Config(
        front,
        host=settings.host,
        port=settings.port,
        http=protocol_for(settings),
        loop="auto",  # uvloop where it is installed (not on Windows)
        access_log=False,  # the app logs one line per request, without parameters
        timeout_keep_alive=settings.idle_timeout,  # type: ignore[arg-type]
        log_level="info",
        lifespan="on",
        timeout_graceful_shutdown=3,  # a backstop: held polls are answered as it stops
        ssl_certfile=tls.cert if tls else None,
        ssl_keyfile=tls.key if tls else None,
    )
    ControllerServer(config, front).run()
