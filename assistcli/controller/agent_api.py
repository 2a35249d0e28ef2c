"""The agent API (see assistcli/api/agent.py): registration, long-poll delivery, reports."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
from collections.abc import Callable
from typing import Any, TypeVar

from assistcli.api import agent as proto
from assistcli.api import wire
from assistcli.controller import content
from assistcli.controller.agent_http import AgentRequest
from assistcli.controller.context import Context
from assistcli.controller.ids import new_id, new_secret
from assistcli.controller.models import Activation, Delivery, Instance, Invocation
from assistcli.controller.sessions import Session, secret_hash
from assistcli.errors import ApiError

T = TypeVar("T")


def read_json(request: AgentRequest) -> object:
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError.of("Agent.InvalidRequest", why="the body is not JSON.") from None
    except RecursionError:  # nested deeper than the parser goes: no message is
        raise ApiError.of("Agent.InvalidRequest", why="the body is nested too deep.") from None


def read(request: AgentRequest, parse: Callable[[object], T]) -> T:
    """The request's body as the protocol message `parse` reads, or a 400 naming what is wrong."""
    try:
        return parse(read_json(request))
    except wire.WireError as error:
        raise ApiError.of("Agent.InvalidRequest", why=f"{error}.") from None


async def authenticated(ctx: Context, request: AgentRequest) -> Session:
    """The session of the instance whose id and secret the request carries."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    instance_id = request.headers.get(proto.INSTANCE_HEADER.lower(), "")
    return await ctx.sessions.authenticate(instance_id, secret if scheme == "Bearer" else "")


# Registration -------------------------------------------------------------------------------
async def register(ctx: Context, request: AgentRequest) -> dict[str, Any]:
    asked = read(request, proto.Registration.from_wire)
    activation = await admitted(
        ctx, asked.activation_id, asked.activation_code, request.client_host
    )
    secret = new_secret(43)
    instance, numbered = new_instance(
        ctx, activation, asked.instance_name, asked.facts, request.client_host, secret_hash(secret)
    )
    if not await ctx.store.register_instance(instance, numbered):
        raise ApiError("Activation.InstanceCountExceeded")
    return {
        "instance_id": instance.instance_id,
        "instance_name": instance.instance_name,
        "secret": secret,
    }


async def admitted(ctx: Context, activation_id: str, code: str, client_host: str) -> Activation:
    """The activation a registration names, when it lets this machine in (any agent's)."""
    activation = await ctx.store.get_activation(activation_id)
    if activation is None:
        raise ApiError("InvalidActivationId.NotFound")
    if not hmac.compare_digest(activation.code_hash, secret_hash(code)):
        raise ApiError("Activation.InvalidCode")
    if activation.disabled:
        raise ApiError("Activation.Disabled")
    if ctx.now > activation.creation_time + activation.time_to_live_hours * 3600:
        raise ApiError("Activation.Expired")
    if activation.ip_address_range and client_host:
        network = ipaddress.ip_network(activation.ip_address_range, strict=False)
        if ipaddress.ip_address(client_host) not in network:
            raise ApiError("Activation.IpNotAllowed")
    return activation


def new_instance(
    ctx: Context,
    activation: Activation,
    name: str,
    facts: proto.HostFacts,
    client_host: str,
    secret_digest: str,
) -> tuple[Instance, str | None]:
    """The instance a registration through `activation` makes, and the prefix it is numbered
    with when the agent asks for no name (see Store.register_instance)."""
    instance = Instance(
        instance_id=new_id("mi-"),
        instance_name=name or facts.hostname or "instance",
        registration_time=ctx.now,
        activation_id=activation.activation_id,
        secret_hash=secret_digest,
        resource_group_id=activation.resource_group_id,
        intranet_ip=client_host,
        **{k: v for k, v in facts.to_wire().items() if k != "boot_id"},
    )
    return instance, None if name else (activation.instance_name or None)


# Delivery -------------------------------------------------------------------------------------
async def poll(ctx: Context, request: AgentRequest) -> dict[str, Any]:
    session = await authenticated(ctx, request)
    asked = read(request, proto.Poll.from_wire)
    active, wait, facts = asked.active, asked.wait, asked.facts
    # Tasks the agent has run and still reports on: handing them out again would only loop.
    held = active + asked.settling
    instance_id = session.instance_id
    if await ctx.sessions.beat(session, facts, len(active), ctx.now):
        await ctx.store.fire_reboots(instance_id, facts.boot_id, ctx.now)
        ctx.notifier.notify([instance_id])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    # With the body read, the next ASGI message is the client hanging up: no task may be leased
    # to a connection nobody reads any more.
    hung_up = asyncio.ensure_future(request.receive())
    try:
        # A stopping server answers at once (with what a look found, else nothing): the agent
        # polls again, the next controller when this one is gone.
        while not hung_up.done() and not ctx.notifier.stopping:
            ctx.sessions.check(session)  # deregistered meanwhile: the agent learns it now
            with ctx.notifier.subscribe(instance_id) as woken:
                if ctx.notifier.must_look(instance_id, held, ctx.clock()):
                    answer = await _look(ctx, instance_id, active, held, woken)
                    if answer["tasks"] or answer["cancel"]:
                        return answer
                if loop.time() >= deadline:
                    return {"tasks": [], "cancel": []}
                waiting = asyncio.ensure_future(woken.wait())
                await asyncio.wait(
                    {waiting, hung_up},
                    timeout=deadline - loop.time(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiting.cancel()
        return {"tasks": [], "cancel": []}
    finally:
        hung_up.cancel()


async def _look(
    ctx: Context, instance_id: str, active: list[str], held: list[str], woken: asyncio.Event
) -> dict[str, Any]:
    """Lease the instance's deliverable tasks; name those it runs that should stop."""
    now, limit = ctx.clock(), ctx.settings.tasks_per_poll
    deliveries = await ctx.store.claim_deliveries(instance_id, now, ctx.settings.lease, limit, held)
    cancel = await ctx.store.records_to_cancel(instance_id, active) if active else []
    # Found everything there was, unless the batch was full, or news came while it looked.
    complete = len(deliveries) < limit and not cancel and not woken.is_set()
    leased = [d.target.invoke_id for d in deliveries]
    ctx.notifier.looked(instance_id, leased, complete, now)
    return {"tasks": [_task(ctx, d).to_wire() for d in deliveries], "cancel": cancel}


def _task(ctx: Context, delivery: Delivery) -> proto.Task:
    inv, instance = delivery.invocation, delivery.instance
    if inv.file is not None:
        spec = inv.file
        file = proto.FileTask(
            name=spec.name,
            target_dir=spec.target_dir,
            content=inv.content,
            mode=spec.file_mode,
            owner=spec.file_owner,
            group=spec.file_group,
            overwrite=spec.overwrite,
        )
        return proto.Task(
            invoke_id=inv.invoke_id,
            run=delivery.target.run,
            kind="file",
            timeout=inv.timeout,
            file=file,
        )
    values = builtins(inv, instance)
    return proto.Task(
        invoke_id=inv.invoke_id,
        run=delivery.target.run,
        command_type=inv.command_type,
        script=script(inv, instance),
        timeout=inv.timeout,
        working_dir=inv.working_dir,
        username=inv.username,
        output_cap=ctx.settings.output_cap,  # all of it streamed, to be kept
        termination_mode=inv.termination_mode or "ProcessTree",
        # The agent fills in {{ACS::ScriptFileName}}, the script file it writes.
        launcher=content.render(inv.launcher.encode(), values).decode(),
    )


def builtins(inv: Invocation, instance: Instance) -> dict[str, str]:
    """The values of the built-in parameters ({{ACS::InstanceId}} ...) on an instance."""
    return {
        "ACS::InstanceId": instance.instance_id,
        "ACS::InstanceName": instance.instance_name,
        "ACS::InvokeId": inv.invoke_id,
        "ACS::CommandId": inv.command_id,
        "ACS::RegionId": inv.region_id,
    }


def script(inv: Invocation, instance: Instance) -> bytes:
    """The invocation's script on an instance, its parameters substituted."""
    return content.render(inv.content, {**builtins(inv, instance), **(inv.parameters or {})})


async def report(ctx: Context, request: AgentRequest) -> dict[str, Any]:
    session = await authenticated(ctx, request)
    reports = read(request, lambda body: proto.reports_from_wire(body, ctx.now))
    # Reports on records the instance does not have (another instance's, say) change nothing.
    instance_id = session.instance_id
    unknown = await ctx.store.apply_reports(
        instance_id, reports, ctx.now, proto.OUTPUT_LIMIT, ctx.settings.output_cap
    )
    ctx.notifier.acknowledged(instance_id, {r.invoke_id for r in reports} - unknown)
    ctx.followers.reported(instance_id, {r.invoke_id for r in reports} - unknown)
    return {
        "acked": [r.report_id for r in reports if r.invoke_id not in unknown],
        "rejected": [r.report_id for r in reports if r.invoke_id in unknown],
    }
