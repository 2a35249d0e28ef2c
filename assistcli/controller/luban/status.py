"""What Alibaba's agent asks besides tasks: its heartbeat, which DescribeCloudAssistantStatus
and DescribeManagedInstances show as agentd's polls, and requests that only need an answer
that keeps it doing nothing (no update, no plugins, no state configurations)."""

from __future__ import annotations

from starlette.responses import PlainTextResponse, Response

from assistcli.api.agent import HostFacts
from assistcli.controller.luban.calls import Call, answer, ok
from assistcli.controller.models import Heartbeat, Instance

BOOT_PREFIX = "boot-"
NEXT_INTERVAL = 60_000  # ms; the agent takes 55000-65000, else picks a random 55-65 s


async def heart_beat(call: Call) -> Response:
    ctx, instance_id = call.ctx, call.instance_id
    facts, boot = None, ""
    # The first heartbeat of a process says which OS and boot it runs in (a full heartbeat
    # also which version); later ones only that it is alive.
    if call.query.get("index") == "0" or "app_version" in call.query:
        instance = await ctx.store.get_instance(instance_id)
        if instance is not None:
            facts = _facts(call, instance)
            boot = facts.boot_id if facts.boot_id != instance.boot_id else ""
    await ctx.store.record_heartbeats([Heartbeat(instance_id, ctx.now, 0, facts)])
    if boot and await ctx.store.fire_reboots(instance_id, boot, ctx.now):
        ctx.notifier.notify([instance_id])
    return ok(call, nextInterval=NEXT_INTERVAL)


def _facts(call: Call, instance: Instance) -> HostFacts:
    q, boot = call.query, instance.boot_id
    if q.get("cold_start") == "true" or not boot:
        # A boot (the agent's first start since it), named after when it was, to 10 s: what
        # reboot tasks wait for. The same boot measured again may round to the next 10 s.
        booted = (call.number("timestamp") - call.number("uptime")) // 10_000
        if abs(booted - _booted(boot)) > 1:
            boot = f"{BOOT_PREFIX}{booted}"
    return HostFacts(
        hostname=instance.hostname,
        os_type=instance.os_type,
        os_version=q.get("os_version") or instance.os_version,
        machine_id=instance.machine_id,
        agent_version=q.get("app_version") or instance.agent_version,
        boot_id=boot,
        timezone=instance.timezone,
        interpreters=instance.interpreters,
    )


def _booted(boot_id: str) -> int:
    number = boot_id.removeprefix(BOOT_PREFIX)
    return int(number) if boot_id.startswith(BOOT_PREFIX) and number.isdigit() else -2


async def update_check(call: Call) -> Response:
    # Never anything else than 0: the agent would download and install what it is told to.
    nothing = {"file_name": "", "md5": "", "url": ""}
    return answer(
        {
            "flag": 0,
            "instanceId": call.instance_id,
            "need_update": 0,
            "next_interval": 1800,
            "update_info": nothing,
        }
    )


async def state_configurations(call: Call) -> Response:
    # ServiceNotSupported makes the agent ask once a day instead of every 30 minutes.
    why = "State configurations are not served by Assist."
    return answer({"errCode": "ServiceNotSupported", "errMsg": why})


async def accepted(call: Call) -> Response:
    """Metrics, exception reports, session status: taken and dropped."""
    return ok(call)


async def plugin_status(call: Call) -> Response:
    intervals = ("scanInterval", "pullInterval", "refreshInterval", "reportType")
    return ok(call, **dict.fromkeys(intervals, 0))


async def plugin_update_check(call: Call) -> Response:
    return answer({"instanceId": call.instance_id, "nextInterval": 0, "plugin": []})


async def plugin_list(call: Call) -> Response:
    return ok(call, requestId=call.request.headers.get("x-acs-request-id", ""), pluginList=[])


async def gshell(call: Call) -> Response:
    throttling = {
        "maxKickVmCount": 10,
        "maxKickVmPeriod": 10,
        "wssCoolDownCount": 1,
        "wssCoolDownTime": 60,
    }
    return ok(call, gshellSupport="false", throttlingConfig=throttling)


async def connection_detect(call: Call) -> Response:
    return PlainTextResponse("ok")
