"""Alibaba's error body for every failure, and the one way a request is answered.

Both HTTP fronts (the API's Starlette app and the agents' lean ASGI one) answer through
`outcome()`: one request id, one error shape, one log line per request (never its parameters).
The API renders its outcome as the request asks (`assistcli.controller.rendering`), the agents'
front as JSON (`answer()`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response

from assistcli.controller.errorpage import ERRORS_PAGE
from assistcli.controller.ids import request_id
from assistcli.controller.rendering import JSON_TYPE as JSON_TYPE  # re-exported for the fronts
from assistcli.controller.rendering import json_bytes as json_bytes
from assistcli.controller.store.base import StoreFull, StoreUnavailable
from assistcli.errors import ApiError

logger = logging.getLogger(__name__)

CLIENT_GONE = 499  # logged for a request whose client left before its answer: nothing is sent
DISK_FULL = "The request has failed due to a temporary failure of the server: its disk is full."
STORE_DOWN = (
    "The request has failed due to a temporary failure of the server: its database cannot be "
    "reached."
)

Work = Callable[[], Awaitable[tuple[str, dict[str, Any]]]]  # -> (what to log, fields)


def error_body(error: ApiError, rid: str, host: str, docs: str = ERRORS_PAGE) -> dict[str, Any]:
    """`Recommend` links the code's entry in `docs`: this controller's own page of error codes
    by default (a relative link where the request gave no base), not Alibaba's site, whose
    advice is about Alibaba's service."""
    return {
        "RequestId": rid,
        "HostId": host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"{docs}#{error.code}",
    }


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json_bytes(body), status_code=status, media_type=JSON_TYPE)


def error_response(error: ApiError, rid: str, host: str) -> Response:
    return json_response(error_body(error, rid, host), error.status)


async def answer(work: Work, what: str, host: str, *, quiet: bool = False) -> tuple[int, bytes]:
    """`outcome()` with its body as JSON."""
    status, body = await outcome(work, what, host, quiet=quiet)
    return status, json_bytes(body)


async def outcome(
    work: Work, what: str, host: str, *, quiet: bool = False, docs: str = ERRORS_PAGE
) -> tuple[int, dict[str, Any]]:
    """Run a request's work: its HTTP status and body. A `quiet` request logs its success
    at DEBUG only: agents poll all the time, and a line per poll is noise that costs the
    controller a measurable share of its CPU."""
    rid, started = request_id(), time.monotonic()
    try:
        what, result = await work()
        status, body = 200, {"RequestId": rid, **result}
    except ApiError as refused:
        status, body = refused.status, error_body(refused, rid, host, docs)
    except ClientDisconnect:
        status, body = CLIENT_GONE, {}
    except StoreFull as full:
        logger.warning("request %s (%s) failed: %s", rid, what, full)
        unavailable = ApiError("ServiceUnavailable", DISK_FULL)
        status, body = unavailable.status, error_body(unavailable, rid, host, docs)
    except StoreUnavailable as down:
        logger.warning("request %s (%s) failed: %s", rid, what, down)
        unavailable = ApiError("ServiceUnavailable", STORE_DOWN)
        status, body = unavailable.status, error_body(unavailable, rid, host, docs)
    except Exception:
        logger.exception("request %s (%s) failed", rid, what)
        failed = ApiError("InternalError")
        status, body = failed.status, error_body(failed, rid, host, docs)
    level = logging.DEBUG if quiet and status == 200 else logging.INFO
    if logger.isEnabledFor(level):
        elapsed = (time.monotonic() - started) * 1000
        logger.log(level, "%s %s %d %.1fms", rid, what, status, elapsed)
    return status, body
