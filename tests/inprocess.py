"""The controller inside the test's own process: the app `create_app` builds, around a store, a
broker and a clock the test chooses, served by an event loop on a thread of its own with its
lifespan running (store open, reaper, scheduler, watchers). Requests go to the ASGI app as
they are, with no socket, no HTTP parser and no process to start.

Most API tests need nothing more. What crosses a process boundary (the HTTP parser and its
bounds, TLS, signals, restarts, agentd) keeps the real processes of conftest.py.

    with InProcessController.started(data_dir) as ctl:
        api(ctl).call("DescribeCommands")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import pgtest
import requests
import requests.utils
from requests.structures import CaseInsensitiveDict

from assistcli.client import PreparedRequest, Response, Timeouts
from assistcli.controller.app import create_app
from assistcli.controller.broker import EventBroker, LocalEventBroker
from assistcli.controller.ids import new_access_key, new_id
from assistcli.controller.models import Instance
from assistcli.controller.settings import Settings
from assistcli.controller.store import Store, open_store

T = TypeVar("T")

HOST = "127.0.0.1:8742"  # what requests name as their Host; nothing listens there
CLIENT = ("127.0.0.1", 40000)


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def to_requests(self, url: str) -> requests.Response:
        """As a requests.Response, the form the e2e helpers read answers in."""
        resp = requests.Response()
        resp.status_code, resp.url = self.status, url
        resp.headers = CaseInsensitiveDict(
            {k.decode("latin-1"): v.decode("latin-1") for k, v in self.headers}
        )
        resp._content = self.body
        resp.encoding = requests.utils.get_encoding_from_headers(resp.headers)
        return resp


class AppLoop:
    """An ASGI app with its lifespan, on an event loop in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._lifespan: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[dict[str, Any]] | None = None
        self._from_app: asyncio.Queue[dict[str, Any]] | None = None

    def start(self) -> None:
        self._thread.start()
        self.run(self._lifespan_event("startup"))

    def stop(self) -> None:
        """Stop as `controller serve` does: held polls answered first, then the lifespan; any
        request still running after that is cancelled."""
        try:
            self.loop.call_soon_threadsafe(self.app.stop)
            self.run(self._lifespan_event("shutdown"))
            self.run(self._cancel_the_rest())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    @staticmethod
    async def _cancel_the_rest() -> None:
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def submit(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        """Run `work` on the app's loop; its result comes through the future."""
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run `work` on the app's loop and wait for its result."""
        return self.submit(work).result(timeout)

    async def _lifespan_event(self, event: str) -> None:
        if self._lifespan is None:
            self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
            scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
            self._lifespan = asyncio.create_task(
                self.app(scope, self._to_app.get, self._from_app.put)
            )
        assert self._to_app is not None and self._from_app is not None
        await self._to_app.put({"type": f"lifespan.{event}"})
        reply = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait({reply, self._lifespan}, return_when=asyncio.FIRST_COMPLETED)
        if not reply.done():
            reply.cancel()
            self._lifespan.result()  # raises what the lifespan raised
        message = reply.result()
        if message["type"] != f"lifespan.{event}.complete":
            raise RuntimeError(f"lifespan {event} failed: {message.get('message')}")

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes = b""
    ) -> Answer:
        """One HTTP exchange with the app. `target` is the request target as sent on the wire
        (path and raw query); the client hangs up once the answer is complete."""
        path, _, query = target.partition("?")
        heads = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if "host" not in {k.lower() for k in headers}:
            heads.append((b"host", HOST.encode()))
        if body:
            heads.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": heads,
            "client": CLIENT,
            "server": ("127.0.0.1", int(HOST.rpartition(":")[2])),
            "state": {},
        }
        answered = asyncio.Event()
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        answer = Answer(0, [], b"")

        async def receive() -> dict[str, Any]:
            if pending:
                return pending.pop()
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer.status, answer.headers = message["status"], list(message["headers"])
            elif message["type"] == "http.response.body":
                answer.body += message.get("body", b"")
                if not message.get("more_body"):
                    answered.set()

        try:
            await self.app(scope, receive, send)
        finally:
            answered.set()
        return answer


class LogRecorder(logging.Handler):
    """Keeps what the controller logs, for tests that check it logged no traceback."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class InProcessController:
    """What the e2e suite's `Controller` offers API tests (url, keys, add_instance, send), for
    a controller running in this process."""

    data_dir: Path
    store: Store
    clock: Any  # Callable[[], float]
    app_loop: AppLoop
    access_key_id: str = ""
    access_key_secret: str = ""
    recorder: LogRecorder = field(default_factory=LogRecorder)

    url = f"http://{HOST}/"
    endpoint = HOST

    @classmethod
    @contextlib.contextmanager
    def started(
        cls,
        data_dir: Path,
        broker: EventBroker | None = None,
        clock: Any = time.time,
        **settings: Any,
    ) -> Iterator[InProcessController]:
        """A controller on a SQLite store in `data_dir` (or PostgreSQL, see
        pgtest.store_for_tests), with an access key; `settings` override the defaults of
        Settings."""
        url = pgtest.store_for_tests(str(data_dir))
        store = open_store(url, data_dir)
        app = create_app(
            Settings(data_dir=data_dir, store_url=url, **settings),
            store,
            broker or LocalEventBroker(),
            clock,
        )
        ctl = cls(data_dir, store, clock, AppLoop(app))
        logging.getLogger("assistcli").addHandler(ctl.recorder)
        ctl.app_loop.start()
        try:
            ctl.access_key_id, ctl.access_key_secret = new_access_key()
            ctl.run(store.add_access_key(ctl.access_key_id, ctl.access_key_secret, clock()))
            yield ctl
        finally:
            ctl.app_loop.stop()
            logging.getLogger("assistcli").removeHandler(ctl.recorder)

    @property
    def transport(self) -> AsgiTransport:
        """For ApiClient(..., transport=): the project's own client, in process."""
        return AsgiTransport(self.app_loop)

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return self.app_loop.run(work, timeout)

    def log(self) -> str:
        return "\n".join(self.recorder.lines)

    def add_instance(self, instance_id: str | None = None, *, name: str = "test-host") -> str:
        """Register a managed instance directly in the store; returns its id (`mi-...`)."""
        instance = Instance(
            instance_id=instance_id or new_id("mi-"),
            instance_name=name,
            registration_time=self.clock(),
        )
        self.run(self.store.add_instance(instance))
        return instance.instance_id

    def send(self, raw: Any) -> requests.Response:
        """Send a rawclient.RawRequest as it is built (its headers and body byte for byte)."""
        headers = dict(raw.headers)
        headers.setdefault("Host", urlsplit(raw.base_url).netloc)
        target = raw.url[len(raw.base_url) - 1 :]
        answer = self.run(self.app_loop.request(raw.method, target, headers, raw.body_bytes))
        return answer.to_requests(raw.url)

    def post(
        self, path: str, body: object, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """POST `body` as JSON to `path` (the agent API)."""
        data = json.dumps(body).encode()
        request = self.app_loop.request("POST", path, dict(headers or {}), data)
        return self.run(request, timeout=120.0).to_requests(self.url.rstrip("/") + path)

    def submit_post(
        self, path: str, body: object, headers: dict[str, str] | None = None
    ) -> Future[Answer]:
        """Like post(), without waiting: for a long poll held while the test goes on."""
        data = json.dumps(body).encode()
        return self.app_loop.submit(self.app_loop.request("POST", path, dict(headers or {}), data))


@dataclass
class AsgiTransport:
    """assistcli.client's Transport, to an app in this process."""

    app_loop: AppLoop

    def send(self, request: PreparedRequest, timeouts: Timeouts) -> Response:
        headers = {"User-Agent": "assist-inprocess", "Accept": "application/json"}
        target = f"/?{request.query}"
        answer = self.app_loop.run(
            self.app_loop.request(request.method, target, headers), timeouts.read
        )
        return Response(answer.status, answer.body)
