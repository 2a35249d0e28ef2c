"""Registration and deregistration of Alibaba's agent (`aliyun-service --register` and
`--deregister`), with Assist's activations: the same checks as agentd's registration (code,
expiry, instance count, IP range), and the agent's public key kept to check its signatures."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from assistcli.api.agent import HostFacts
from assistcli.controller import agent_api, deregistrations
from assistcli.controller.luban import signature
from assistcli.controller.luban.calls import Call, answer, ok, refusal
from assistcli.controller.models import AgentKey
from assistcli.errors import ApiError


def _text(body: dict[str, Any], name: str, required: bool = False) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise refusal(400, "InvalidParameter", f"{name} must be a non-empty string.")
    return value


async def register(call: Call) -> Response:
    try:
        body = json.loads(call.body)
    except ValueError:
        raise refusal(400, "InvalidParameter", "The body is not JSON.") from None
    if not isinstance(body, dict):
        raise refusal(400, "InvalidParameter", "The body is not a JSON object.")
    ctx, client = call.ctx, call.request.client
    host = client.host if client else ""
    try:
        key = signature.public_key_pem(_text(body, "publicKey", required=True))
    except signature.BadKey as error:
        raise refusal(400, "InvalidParameter", f"{error}.") from None
    machine_id = _text(body, "machineId", required=True)
    activation = await agent_api.admitted(
        ctx, _text(body, "activationId", True), _text(body, "activationCode", True), host
    )
    facts = HostFacts(
        hostname=_text(body, "hostname"),
        os_type=_text(body, "osType").lower() or "linux",
        os_version=_text(body, "osVersion"),
        machine_id=machine_id,
        agent_version=_text(body, "agentVersion"),
    )
    # No secret: its agent signs with its key instead, and cannot use agentd's protocol.
    instance, numbered = agent_api.new_instance(
        ctx, activation, _text(body, "instanceName"), facts, host, secret_digest=""
    )
    if not await ctx.store.register_keyed_instance(instance, numbered, AgentKey(machine_id, key)):
        raise ApiError("Activation.InstanceCountExceeded")
    return answer({"code": 200, "instanceId": instance.instance_id})


async def deregister(call: Call) -> Response:
    ctx = call.ctx
    if await ctx.store.deregister_instance(call.instance_id, ctx.now) is None:
        raise refusal(401, "Agent.NotRegistered", "The instance is not registered.")
    deregistrations.release(ctx, call.instance_id)
    await deregistrations.wait_released(ctx)
    return ok(call)
