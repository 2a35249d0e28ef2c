"""The HTTP adapter: Starlette routes around authentication and dispatch.

Every answer is JSON. Every failure, including ones nobody planned for, is Alibaba's error body
(`RequestId, HostId, Code, Message, Recommend`) with its HTTP status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assistcli.api import agent
from assistcli.controller import agent_api
from assistcli.controller.auth import SignedRequest, authenticate
from assistcli.controller.context import Context
from assistcli.controller.ids import request_id
from assistcli.controller.notifier import LocalNotifier
from assistcli.controller.responses import error_response, json_response
from assistcli.controller.rpc import dispatch
from assistcli.controller.scheduler import Scheduler
from assistcli.controller.sessions import Sessions
from assistcli.controller.settings import Settings
from assistcli.controller.store import Store
from assistcli.errors import ApiError

logger = logging.getLogger(__name__)

MAX_FIELDS = 2000


def parse_params(raw: bytes, what: str) -> dict[str, str]:
    """Decode a query string or form body strictly: bad UTF-8 or too many fields is a 400."""
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise ApiError("InvalidParameter", f"The {what} is not valid URL-encoded UTF-8.") from None
    return dict(pairs)


async def signed_request(request: Request) -> SignedRequest:
    body = await request.body()
    form: dict[str, str] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_params(body, "request body")
    return SignedRequest(
        method=request.method,
        path=request.url.path,
        query=parse_params(request.scope.get("query_string", b""), "query string"),
        form=form,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )


Work = Callable[[Context, Request], Awaitable[tuple[str, dict[str, Any]]]]


def endpoint(
    settings: Settings,
    store: Store,
    notifier: LocalNotifier,
    sessions: Sessions,
    work: Work,
    *,
    quiet: bool = False,
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint around `work` -> (what to log, response fields): one request id, one error
    shape, one log line per request (never its parameters). A `quiet` endpoint logs its
    successes at DEBUG only: agents poll all the time, and a line per poll is noise that costs
    the controller a measurable share of its CPU."""

    async def serve(request: Request) -> Response:
        rid, started = request_id(), time.monotonic()
        host = request.url.hostname or "localhost"
        what = request.url.path
        try:
            ctx = Context(store, settings, notifier, sessions, now=time.time())
            what, result = await work(ctx, request)
            response = json_response({"RequestId": rid, **result})
        except ApiError as error:
            response = error_response(error, rid, host)
        except Exception:
            logger.exception("request %s (%s) failed", rid, what)
            response = error_response(ApiError("InternalError"), rid, host)
        elapsed = (time.monotonic() - started) * 1000
        level = logging.DEBUG if quiet and response.status_code == 200 else logging.INFO
        if logger.isEnabledFor(level):
            logger.log(level, "%s %s %d %.1fms", rid, what, response.status_code, elapsed)
        return response

    return serve


async def rpc(ctx: Context, request: Request) -> tuple[str, dict[str, Any]]:
    """The Cloud Assistant API: authenticate, then run the action."""
    signed = await signed_request(request)
    call = await authenticate(signed, ctx.store, ctx.now, ctx.settings.max_clock_skew)
    return call.action or "-", await dispatch(ctx, call)


def agent_route(
    path: str, handler: Callable[[Context, Request], Awaitable[dict[str, Any]]]
) -> Work:
    async def work(ctx: Context, request: Request) -> tuple[str, dict[str, Any]]:
        return path, await handler(ctx, request)

    return work


def create_app(settings: Settings, store: Store) -> Starlette:
    notifier = LocalNotifier()
    sessions = Sessions(store, settings.heartbeat_window)

    def route(path: str, work: Work, methods: list[str], quiet: bool = False) -> Route:
        serve = endpoint(settings, store, notifier, sessions, work, quiet=quiet)
        return Route(path, serve, methods=methods)

    async def healthz(request: Request) -> Response:
        return json_response({"Status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        scheduler = Scheduler(store, notifier, settings.misfire_grace)
        background = [
            asyncio.create_task(reap(store, settings)),
            asyncio.create_task(scheduler.run()),
            asyncio.create_task(sessions.run()),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await store.close()

    async def http_error(request: Request, exc: Exception) -> Response:
        """Unknown paths and methods answer in the API's error shape too."""
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        code = "UnsupportedHTTPMethod" if status == 405 else "InvalidAction.NotFound"
        error = ApiError(code, f"{request.method} {request.url.path} is not served.", status=status)
        return error_response(error, request_id(), request.url.hostname or "localhost")

    routes = [
        route("/", rpc, ["GET", "POST"]),
        route(agent.REGISTER, agent_route(agent.REGISTER, agent_api.register), ["POST"]),
        route(agent.POLL, agent_route(agent.POLL, agent_api.poll), ["POST"], quiet=True),
        route(agent.REPORT, agent_route(agent.REPORT, agent_api.report), ["POST"], quiet=True),
        Route("/healthz", healthz),
    ]
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )


async def reap(store: Store, settings: Settings) -> None:
    """End what can no longer end by itself: records nobody picked up within the delivery
    timeout (Aborted / DeliveryTimeout), and runs whose agent went silent (ClientNotResponse)."""
    interval = min(1.0, settings.delivery_timeout / 4)
    while True:
        now = time.time()
        try:
            await store.abort_undelivered(now - settings.delivery_timeout, now)
            await store.abandon_silent_runs(now, settings.silent_agent_grace)
        except Exception:
            logger.exception("reaping records failed; retrying")
        await asyncio.sleep(interval)
