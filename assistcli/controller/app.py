"""The HTTP adapter: Starlette routes around authentication and dispatch.

Every answer is JSON. Every failure, including ones nobody planned for, is Alibaba's error body
(`RequestId, HostId, Code, Message, Recommend`) with its HTTP status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assistcli.controller.auth import SignedRequest, authenticate
from assistcli.controller.context import Context
from assistcli.controller.ids import request_id
from assistcli.controller.rpc import dispatch
from assistcli.controller.settings import Settings
from assistcli.controller.store import Store
from assistcli.errors import ApiError

logger = logging.getLogger(__name__)

MAX_FIELDS = 2000
JSON_TYPE = "application/json;charset=utf-8"
RECOMMEND = "https://api.aliyun.com/troubleshoot?q={code}&product=Ecs"


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(payload.encode(), status_code=status, media_type=JSON_TYPE)


def error_response(error: ApiError, rid: str, host: str) -> Response:
    body = {
        "RequestId": rid,
        "HostId": host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": RECOMMEND.format(code=error.code),
    }
    return json_response(body, error.status)


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


def create_app(settings: Settings, store: Store) -> Starlette:
    async def rpc(request: Request) -> Response:
        rid, started = request_id(), time.monotonic()
        host = request.url.hostname or "localhost"
        action = "-"
        try:
            now = time.time()
            call = await authenticate(
                await signed_request(request), store, now, settings.max_clock_skew
            )
            action = call.action or "-"
            result = await dispatch(Context(store=store, settings=settings, now=now), call)
            response = json_response({"RequestId": rid, **result})
        except ApiError as error:
            response = error_response(error, rid, host)
        except Exception:
            logger.exception("request %s (%s) failed", rid, action)
            response = error_response(ApiError("InternalError"), rid, host)
        logger.info(
            "%s %s %d %.1fms",
            rid,
            action,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    async def healthz(request: Request) -> Response:
        return json_response({"Status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        reaper = asyncio.create_task(abort_undelivered(store, settings))
        try:
            yield
        finally:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
            await store.close()

    async def http_error(request: Request, exc: Exception) -> Response:
        """Unknown paths and methods answer in the API's error shape too."""
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        code = "UnsupportedHTTPMethod" if status == 405 else "InvalidAction.NotFound"
        error = ApiError(code, f"{request.method} {request.url.path} is not served.", status=status)
        return error_response(error, request_id(), request.url.hostname or "localhost")

    routes = [Route("/", rpc, methods=["GET", "POST"]), Route("/healthz", healthz)]
    return Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )


async def abort_undelivered(store: Store, settings: Settings) -> None:
    """Records nobody picked up within the delivery timeout end Aborted / DeliveryTimeout."""
    interval = min(1.0, settings.delivery_timeout / 4)
    while True:
        now = time.time()
        try:
            await store.abort_undelivered(now - settings.delivery_timeout, now)
        except Exception:
            logger.exception("aborting undelivered records failed; retrying")
        await asyncio.sleep(interval)
