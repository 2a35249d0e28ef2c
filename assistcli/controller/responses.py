"""JSON answers, Alibaba's error body for every failure, and the one way a request is answered.

Both HTTP fronts (the API's Starlette app and the agents' lean ASGI one) answer through
`answer()`: one request id, one error shape, one log line per request (never its parameters).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response

from assistcli.controller.ids import request_id
from assistcli.controller.store.base import StoreFull
from assistcli.errors import ApiError

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=utf-8"
RECOMMEND = "https://api.aliyun.com/troubleshoot?q={code}&product=Ecs"
CLIENT_GONE = 499  # logged for a request whose client left before its answer: nothing is sent
DISK_FULL = "The request has failed due to a temporary failure of the server: its disk is full."

Work = Callable[[], Awaitable[tuple[str, dict[str, Any]]]]  # -> (what to log, fields)


def json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def error_body(error: ApiError, rid: str, host: str) -> dict[str, Any]:
    return {
        "RequestId": rid,
        "HostId": host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": RECOMMEND.format(code=error.code),
    }


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json_bytes(body), status_code=status, media_type=JSON_TYPE)


def error_response(error: ApiError, rid: str, host: str) -> Response:
    return json_response(error_body(error, rid, host), error.status)


async def answer(work: Work, what: str, host: str, *, quiet: bool = False) -> tuple[int, bytes]:
    """Run a request's work: its HTTP status and JSON body. A `quiet` request logs its success
    at DEBUG only: agents poll all the time, and a line per poll is noise that costs the
    controller a measurable share of its CPU."""
    rid, started = request_id(), time.monotonic()
    try:
        what, result = await work()
        status, body = 200, {"RequestId": rid, **result}
    except ApiError as refused:
        status, body = refused.status, error_body(refused, rid, host)
    except ClientDisconnect:
        status, body = CLIENT_GONE, {}
    except StoreFull as full:
        logger.warning("request %s (%s) failed: %s", rid, what, full)
        unavailable = ApiError("ServiceUnavailable", DISK_FULL)
        status, body = unavailable.status, error_body(unavailable, rid, host)
    except Exception:
        logger.exception("request %s (%s) failed", rid, what)
        failed = ApiError("InternalError")
        status, body = failed.status, error_body(failed, rid, host)
    level = logging.DEBUG if quiet and status == 200 else logging.INFO
    if logger.isEnabledFor(level):
        elapsed = (time.monotonic() - started) * 1000
        logger.log(level, "%s %s %d %.1fms", rid, what, status, elapsed)
    return status, json_bytes(body)
