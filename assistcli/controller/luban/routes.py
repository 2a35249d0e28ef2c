"""The routes of Alibaba's agent under `/luban/`: unsigned registration and probes, every other
request signed (see identity.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from assistcli.controller.bodies import read_body
from assistcli.controller.context import Context
from assistcli.controller.luban import enroll, notify, reports, status, tasks
from assistcli.controller.luban.calls import Call, Handler, ok, refusal, refused
from assistcli.controller.luban.identity import Identity
from assistcli.controller.store.base import StoreFull, StoreUnavailable
from assistcli.errors import ApiError

logger = logging.getLogger(__name__)

PREFIX = "/luban"
MAX_BODY = 1024 * 1024  # the largest is a report's last output, at most logQuota (24 KB)

DEREGISTER = "/api/instance/deregister"
SIGNED: dict[str, tuple[str, Handler]] = {
    DEREGISTER: ("POST", enroll.deregister),
    "/api/heart-beat": ("GET", status.heart_beat),
    "/api/v1/task/list": ("POST", tasks.task_list),
    **{
        f"/api/v1/task/{kind}": ("POST", reports.report(kind))
        for kind in ("running", "finish", "timeout", "error", "invalid", "stopped", "verified")
    },
    "/api/v1/update/update_check": ("POST", status.update_check),
    "/api/instance/list_instance_state_configurations": ("POST", status.state_configurations),
    "/api/metrics": ("POST", status.accepted),
    "/api/v1/exception/client_report": ("POST", status.accepted),
    "/api/v1/session/status": ("POST", status.accepted),
    "/api/v1/plugin/report_status": ("POST", status.plugin_status),
    "/api/v2/plugin/update_check": ("POST", status.plugin_update_check),
    "/api/v1/plugin/list": ("POST", status.plugin_list),
}
# An agent asks these before it is registered, so without a signature.
UNSIGNED: dict[str, tuple[str, Handler]] = {
    "/api/instance/register": ("POST", enroll.register),
    "/api/gshell": ("POST", status.gshell),
    "/api/connection_detect": ("GET", status.connection_detect),
}


def routes(context: Callable[[], Context]) -> list[BaseRoute]:
    identity, fetches = Identity(), notify.Fetches()

    async def task_list(call: Call) -> Response:
        fetches.fetching(call.instance_id)  # before its look, which sees the news heard so far
        return await tasks.task_list(call)

    async def deregister(call: Call) -> Response:
        if identity.departed(call.instance_id):  # deregistered, and its agent told so
            return ok(call)
        return await enroll.deregister(call)

    signed_routes = {
        **SIGNED,
        "/api/v1/task/list": ("POST", task_list),
        DEREGISTER: ("POST", deregister),
    }

    def endpoint(handler: Handler, signed: bool, path: str) -> Callable[[Request], object]:
        async def serve(request: Request) -> Response:
            def too_large(limit: int) -> ApiError:
                return refusal(413, "InvalidParameter", f"The body is over {limit} bytes.")

            try:
                body = await read_body(request.receive, request.headers, MAX_BODY, too_large)
                query = dict(parse_qsl(request.url.query, keep_blank_values=True))
                call = Call(context(), request, query, body)
                if signed:
                    call.instance_id = await identity.verify(call, path == DEREGISTER)
                return await handler(call)
            except (StoreFull, StoreUnavailable) as away:  # the agent retries, as after a 503
                logger.warning("%s %s: %s", request.method, request.url.path, away)
                return refused(refusal(503, "ServiceUnavailable", "Try again later."))
            except ApiError as error:
                if error.status >= 500:
                    logger.warning("%s %s: %s", request.method, request.url.path, error)
                return refused(error)

        return serve

    async def notify_server(websocket: WebSocket) -> None:
        await notify.serve(Call(context(), websocket, {}, b""), websocket, identity, fetches)

    found: list[BaseRoute] = [
        Route(PREFIX + path, endpoint(handler, signed, path), methods=[method])
        for signed, table in ((True, signed_routes), (False, UNSIGNED))
        for path, (method, handler) in table.items()
    ]
    found.append(WebSocketRoute(f"{PREFIX}/notify_server", notify_server))
    return found
