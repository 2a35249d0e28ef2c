"""The HTTP adapter: Starlette routes around authentication and dispatch.

The API answers JSON, or XML when a request asks with `Format=XML`. Every failure, including ones
nobody planned for, is Alibaba's error body (`RequestId, HostId, Code, Message, Recommend`) with
its HTTP status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assistcli.api import agent, outputstream
from assistcli.controller import agent_api, agent_package, deregistrations, output_api
from assistcli.controller.agent_http import AgentFront, Handler
from assistcli.controller.auth import SignedRequest, authenticate
from assistcli.controller.bodies import read_body
from assistcli.controller.broker import EventBroker
from assistcli.controller.context import Context
from assistcli.controller.errorpage import ERRORS_PAGE, HTML_TYPE
from assistcli.controller.errorpage import page as errors_page
from assistcli.controller.followers import Followers
from assistcli.controller.ids import request_id
from assistcli.controller.lifecycle import lifetime
from assistcli.controller.luban.routes import routes as official_agent_routes
from assistcli.controller.notifier import Notifier
from assistcli.controller.rendering import Reply, render
from assistcli.controller.responses import error_response, json_response, outcome
from assistcli.controller.rpc import dispatch
from assistcli.controller.sessions import Sessions
from assistcli.controller.settings import Settings
from assistcli.controller.store import Store
from assistcli.controller.store.base import INTERACTIVE
from assistcli.controller.tls import TlsFiles
from assistcli.errors import ApiError

logger = logging.getLogger(__name__)

CA_PATH = f"{agent.PREFIX}/ca.pem"
MAX_CA_FILE = 64 * 1024  # a CA certificate is 1 KB; the file is the operator's, still bounded
AGENT_PACKAGE_PATH = f"{agent.PREFIX}/download/{agent_package.FILENAME}"
CHECKSUM_HEADER = "X-Checksum-Sha256"

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


def too_large(limit: int) -> ApiError:
    return ApiError.of("InvalidRequest.TooLarge", limit=limit)


async def signed_request(request: Request, max_body: int) -> SignedRequest:
    body = await read_body(request.receive, request.headers, max_body, too_large)
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


Work = Callable[[Context, Request, Reply], Awaitable[tuple[str, dict[str, Any]]]]


def endpoint(
    work: Work, context: Callable[[], Context]
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint around `work` -> (what to log, response fields), answered in the
    format the request asks for."""

    async def serve(request: Request) -> Response:
        ctx, reply = context(), Reply()
        docs = ctx.settings.docs_url or f"{str(request.base_url).rstrip('/')}{ERRORS_PAGE}"
        status, body = await outcome(
            lambda: work(ctx, request, reply),
            request.url.path,
            request.url.hostname or "localhost",
            docs=docs,
        )
        content, media_type = render(body, reply, failed=status != 200)
        return Response(content, status_code=status, media_type=media_type)

    return serve


async def rpc(ctx: Context, request: Request, reply: Reply) -> tuple[str, dict[str, Any]]:
    """The Cloud Assistant API: authenticate, then run the action."""
    INTERACTIVE.set(True)  # this request's task only
    signed = await signed_request(request, ctx.settings.max_request_body)
    reply.read({**signed.query, **signed.form})
    call = await authenticate(signed, ctx.store, ctx.now, ctx.settings.max_clock_skew)
    return call.action or "-", await dispatch(ctx, call)


def create_app(
    settings: Settings,
    store: Store,
    broker: EventBroker,
    clock: Callable[[], float] = time.time,
) -> AgentFront:
    """The controller as an ASGI app, around the store and broker it is given (unopened: its
    lifespan opens and closes them) and the clock it reads the time from."""
    notifier = Notifier(broker)
    sessions = Sessions(store, settings.heartbeat_window, notifier.holding, clock)
    me = deregistrations.controller_id()
    followers = Followers()

    def context() -> Context:
        return Context(
            store,
            settings,
            notifier,
            sessions,
            now=clock(),
            clock=clock,
            controller_id=me,
            followers=followers,
        )

    async def healthz(request: Request) -> Response:
        """Ok when a write to the store commits; a full disk, or any other failure, is 503."""
        try:
            await store.check_writable(clock())
        except Exception as error:
            logger.warning("health check: the store cannot be written: %s", error)
            why = f"The store cannot be written: {error}"
            return json_response({"Status": "unwritable", "Message": why}, 503)
        return json_response({"Status": "ok"})

    async def http_error(request: Request, exc: Exception) -> Response:
        """Unknown paths and methods answer in the API's error shape too."""
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        code = "UnsupportedHTTPMethod" if status == 405 else "InvalidAction.NotFound"
        error = ApiError(code, f"{request.method} {request.url.path} is not served.", status=status)
        return error_response(error, request_id(), request.url.hostname or "localhost")

    async def ca_certificate(request: Request) -> Response:
        """The private CA, for agents that pin its fingerprint on first contact (public data)."""
        path = TlsFiles.of(settings.data_dir).ca
        try:
            pem = path.read_bytes()[:MAX_CA_FILE]
        except OSError:
            why = "This controller publishes no CA (see `assistcli controller tls init`)."
            error = ApiError("InvalidAction.NotFound", why, status=404)
            return error_response(error, request_id(), request.url.hostname or "localhost")
        return Response(pem, media_type="application/x-pem-file")

    async def agent_download(request: Request) -> Response:
        """The one-file agent (public code), for machines that have no credentials yet."""
        try:
            built = await asyncio.to_thread(agent_package.package)  # built at the first request
        except Exception:
            logger.exception("building the one-file agent failed")
            return error_response(
                ApiError("InternalError"), request_id(), request.url.hostname or "localhost"
            )
        headers = {
            "Content-Disposition": f'attachment; filename="{agent_package.FILENAME}"',
            "ETag": f'"{built.sha256}"',
            CHECKSUM_HEADER: built.sha256,
        }
        return Response(built.data, media_type="application/zip", headers=headers)

    routes = [
        Route("/", endpoint(rpc, context), methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route(outputstream.PATH, output_api.endpoint(context, signed_request), methods=["GET"]),
        Route(ERRORS_PAGE, lambda _: Response(errors_page(), media_type=HTML_TYPE)),
        Route(CA_PATH, ca_certificate),
        Route(AGENT_PACKAGE_PATH, agent_download),
        *official_agent_routes(context),  # Alibaba's own agent, under /luban/
    ]
    api = Starlette(
        routes=routes,
        lifespan=lambda _: lifetime(context),
        exception_handlers={HTTPException: http_error},
    )
    agent_routes: dict[str, Handler] = {
        agent.REGISTER: agent_api.register,
        agent.POLL: agent_api.poll,
        agent.REPORT: agent_api.report,
    }
    return AgentFront(api, agent_routes, context, settings.agent_keepalive)
