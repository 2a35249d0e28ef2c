"""From an authenticated call to a response: table lookup, decoding, idempotency, handler."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from assistcli.api.actions import API_VERSION, BY_NAME
from assistcli.api.codec import Args, decode
from assistcli.api.spec import Action
from assistcli.controller import legacy
from assistcli.controller.auth import Call
from assistcli.controller.context import Context
from assistcli.controller.handlers import HANDLERS
from assistcli.errors import ApiError, missing

REGION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


async def dispatch(ctx: Context, call: Call) -> dict[str, Any]:
    """Run the call's action and return its response fields (without RequestId)."""
    if not call.action:
        raise missing("Action")
    action = BY_NAME.get(call.action)
    if action is None:
        raise ApiError("InvalidAction.NotFound")
    if not call.version:
        raise missing("Version")
    if call.version != API_VERSION:
        raise ApiError.of("InvalidVersion", version=call.version)
    args = decode(action, call.params)
    if not REGION_ID.match(args.text("RegionId")):
        raise ApiError("InvalidRegionId.Malformed")
    token = args.text("ClientToken")
    if action.idempotent and token:
        return await _once(ctx, action, args, token)
    result = await HANDLERS[action.name](ctx, args)
    if action.name == legacy.ACTION and ctx.settings.legacy_result_lists:
        legacy.add_result_lists(result)
    return result


async def _once(ctx: Context, action: Action, args: Args, token: str) -> dict[str, Any]:
    """Run an idempotent action at most once per ClientToken and replay its first result."""
    if not token.isascii():
        raise ApiError("InvalidClientToken.Malformed")
    fingerprint = args.fingerprint()
    settings = ctx.settings
    claim = await ctx.store.claim_token(
        action.name,
        token,
        fingerprint,
        ctx.now,
        stale_after=settings.client_token_stale,
        keep=settings.client_token_keep,
    )
    if not claim.fresh:
        if claim.fingerprint != fingerprint:
            raise ApiError("IdempotentParameterMismatch")
        if claim.result is None:
            raise ApiError("IdempotentProcessing")
        result: dict[str, Any] = json.loads(claim.result)
        return result
    ctx = dataclasses.replace(ctx, client_token=(action.name, token, claim))
    try:
        result = await HANDLERS[action.name](ctx, args)
    except BaseException:
        await ctx.store.release_token(action.name, token)
        raise
    # Handlers that write store their result with their changes; this covers those that do not
    # (a DryRun), and is a no-op for the others.
    finished = ctx.finishing(result)
    assert finished is not None
    await ctx.store.finish_token(finished)
    return result
