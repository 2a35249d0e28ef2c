"""GET /assist/v1/output: runs' whole output, streamed as it is reported (api/outputstream.py).

An extension of the API for `assistcli output` and `--watch`: signed like every call, at a path
of its own. Parameters: `InvokeId`; `InstanceId` (or `InstanceId.N`: the instances to follow;
default all of the invocation's); `Offset` (the first byte wanted of each run, default 0);
`Follow` (`true`: stream until every run has ended). A failure before the stream begins is
answered in the API's error body.

Each pass reads the invocation's records, and what is kept of each run changed since the last
pass, from offsets the stream tracks per instance; a pass runs when an agent reports on a
followed record (followers.py), else every FOLLOW_RELOOK seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from assistcli.api import outputstream as stream
from assistcli.api import status as st
from assistcli.api.agent import OUTPUT_LIMIT
from assistcli.api.status import RecordStatus
from assistcli.controller.auth import SignedRequest, authenticate
from assistcli.controller.context import Context
from assistcli.controller.models import PageRequest, Target
from assistcli.controller.responses import json_response, outcome
from assistcli.controller.runoutput import placed
from assistcli.errors import ApiError, invalid, missing

FOLLOW_RELOOK = 1.0  # seconds between passes while no report wakes the stream
KEEPALIVE = 15.0  # seconds of silence before a keep-alive newline
READ_LIMIT = 1024 * 1024  # bytes read from the store at a time

ReadRequest = Callable[[Request, int], Awaitable[SignedRequest]]


@dataclass(frozen=True)
class Watch:
    invoke_id: str
    instance_ids: list[str]
    offset: int
    follow: bool


@dataclass
class _Run:
    """What the stream sent of one instance's run."""

    sent: int  # the offset of the next byte to send
    state: dict[str, Any] = field(default_factory=dict)
    seen: tuple[object, ...] = ()  # the record's run, last report and status at the last pass
    ended: bool = False


def endpoint(
    context: Callable[[], Context], read_request: ReadRequest
) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        ctx = context()
        opened: list[Watch] = []

        async def work() -> tuple[str, dict[str, Any]]:
            signed = await read_request(request, ctx.settings.max_request_body)
            opened.append(await open_watch(ctx, signed))
            return stream.ACTION, {}

        status, body = await outcome(work, request.url.path, request.url.hostname or "localhost")
        if status != 200:
            return json_response(body, status)
        headers = {"X-Request-Id": str(body["RequestId"]), "Cache-Control": "no-store"}
        return StreamingResponse(
            frames(ctx, opened[0]), media_type=stream.MEDIA_TYPE, headers=headers
        )

    return serve


async def open_watch(ctx: Context, signed: SignedRequest) -> Watch:
    """Check the request's signature and parameters, and that what it names exists."""
    call = await authenticate(signed, ctx.store, ctx.now, ctx.settings.max_clock_skew)
    if call.action != stream.ACTION:
        raise ApiError("InvalidAction.NotFound", f"{signed.path} serves {stream.ACTION} only.")
    params = call.params
    invoke_id = params.get("InvokeId", "")
    if not invoke_id:
        raise missing("InvokeId")
    invocation = await ctx.store.get_invocation(invoke_id)
    if invocation is None:
        raise ApiError.of("InvalidInvokeId.NotFound")
    targets = [target.instance_id for target in invocation.targets]
    asked = _instance_ids(params)
    for instance_id in asked:
        if instance_id not in targets:
            raise ApiError.of("InvalidInstance.NotFound", instance_id=instance_id)
    offset = params.get("Offset", "0")
    if not offset.isdigit():
        raise invalid("Offset", "It is a number of bytes, 0 or more.")
    follow = params.get("Follow", "false").lower()
    if follow not in ("true", "false"):
        raise invalid("Follow", "It is true or false.")
    return Watch(invoke_id, asked or targets, int(offset), follow == "true")


def _instance_ids(params: dict[str, str]) -> list[str]:
    """`InstanceId`, or `InstanceId.1`, `InstanceId.2`, ... in their order."""
    numbered = sorted(
        (int(name.split(".", 1)[1]), value)
        for name, value in params.items()
        if name.startswith("InstanceId.") and name.split(".", 1)[1].isdigit()
    )
    found = [value for _, value in numbered]
    if params.get("InstanceId"):
        found.insert(0, params["InstanceId"])
    return list(dict.fromkeys(found))


async def frames(ctx: Context, watch: Watch) -> AsyncIterator[bytes]:
    """The stream: a pass over the records at once, then (following) one at each report on them
    or every FOLLOW_RELOOK seconds, until every run has ended."""
    runs = {instance_id: _Run(sent=watch.offset) for instance_id in watch.instance_ids}
    yield stream.instances_frame(watch.instance_ids)
    with ctx.followers.subscribe(watch.invoke_id, watch.instance_ids) as woken:
        last_sent = time.monotonic()
        while True:
            woken.clear()  # before the pass: a report during it wakes the next one
            async for piece in _pass(ctx, watch.invoke_id, runs):
                yield piece
                last_sent = time.monotonic()
            if not watch.follow or all(run.ended for run in runs.values()):
                return
            if ctx.notifier.stopping:
                return  # the controller stops: the client sees no end and may ask again
            if time.monotonic() - last_sent >= KEEPALIVE:
                yield stream.KEEPALIVE
                last_sent = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), FOLLOW_RELOOK)


async def _pass(ctx: Context, invoke_id: str, runs: dict[str, _Run]) -> AsyncIterator[bytes]:
    """The frames of what changed since the last pass, a read from the store at a time."""
    invocation = await ctx.store.get_invocation(invoke_id)
    for target in invocation.targets if invocation is not None else []:
        run = runs.get(target.instance_id)
        seen = (target.run, target.report_seq, target.status)
        if run is None or run.ended or seen == run.seen:
            continue
        run.seen = seen
        async for frame in _output(ctx, target, run):
            yield frame
        state = await _state(ctx, target)
        if state != run.state:
            run.state, run.ended = state, bool(state["Ended"])
            yield stream.state_frame(target.instance_id, state)


async def _output(ctx: Context, target: Target, run: _Run) -> AsyncIterator[bytes]:
    """The run's output from `run.sent` on: what is kept beside the record, else the record's
    own, and once the run is over the record's tail where the kept output stops short of it
    (at the cap)."""
    kept = False
    while found := await ctx.store.read_output(
        target.invoke_id, target.instance_id, target.run, run.sent, READ_LIMIT
    ):
        offset, data = found
        kept = True
        if not data:
            break
        run.sent = offset + len(data)
        yield stream.output_frame(target.instance_id, offset, data)
    if kept and not _over(target):
        return  # the rest is kept as it comes
    for offset, data in placed(target.output, target.dropped, OUTPUT_LIMIT):
        if data and offset + len(data) > run.sent:
            start, run.sent = max(offset, run.sent), offset + len(data)
            yield stream.output_frame(target.instance_id, start, data[start - offset :])


def _over(target: Target) -> bool:
    """The record's run has ended: a final status, or a repeating record back to waiting."""
    return st.is_terminal(target.status) or target.status == RecordStatus.SCHEDULED


async def _state(ctx: Context, target: Target) -> dict[str, Any]:
    """How the record stands; a repeating record back to waiting shows how its run ended."""
    record = target
    if target.status == RecordStatus.SCHEDULED and target.run > 0:
        history = await ctx.store.run_history(
            target.invoke_id, target.instance_id, PageRequest(offset=target.run - 1, limit=1)
        )
        record = next((r.target for r in history.items if r.target.run == target.run), target)
    return {
        "InvocationStatus": record.status,
        "ExitCode": record.exit_code,
        "ErrorCode": record.error_code,
        "ErrorInfo": record.error_info,
        "Dropped": record.dropped,
        "Run": target.run,
        "Ended": _over(target),
    }
