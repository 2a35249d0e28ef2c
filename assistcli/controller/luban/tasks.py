"""The task list (`POST /luban/api/v1/task/list`): what Alibaba's agent must run, stop and write.

- `run`: the instance's deliverable records (leased as agentd's are; handed out as `Once` under
  the run's number as invokeVersion: the agent ignores a task it is running already), and every
  Period record still active, which the agent schedules itself and keeps in memory only (it
  ignores a schedule it holds under the same invokeVersion; another replaces it).
- `stop`: records being stopped, and periodic ones stopped lately whose schedule it may hold.
- `file`: deliverable SendFile records.
Parameters are substituted here, as for agentd: the agent gets the script as it runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from assistcli.api.agent import OUTPUT_LIMIT
from assistcli.controller import agent_api
from assistcli.controller.luban.calls import Call, ok
from assistcli.controller.models import Instance, Invocation, Target

STOP_MEMORY = 24 * 3600.0  # seconds a stopped schedule is listed under `stop` again
REPORTING = {
    "interval": 3000,  # ms between output reports
    "logQuota": OUTPUT_LIMIT,  # kept: the head it streams, then the tail (Dropped between)
    "skipEmpty": True,
    "sendStart": True,  # the start report acknowledges the delivery, as agentd's `started`
}
_RATE = re.compile(r"rate\(\s*(\d+)\s*([smhd])\s*\)", re.IGNORECASE)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


async def task_list(call: Call) -> Response:
    ctx, instance_id = call.ctx, call.instance_id
    instance = await ctx.store.get_instance(instance_id)
    if instance is None:  # deregistered since its signature was checked
        return ok(call, run=[], stop=[], test=[], file=[], session=[])
    settings = ctx.settings
    deliveries = await ctx.store.claim_deliveries(
        instance_id, ctx.clock(), settings.lease, settings.tasks_per_poll, []
    )
    scheduled = await ctx.store.agent_schedules(instance_id)
    stopping = await ctx.store.records_to_stop(instance_id, ctx.now - STOP_MEMORY)
    run = [
        command_entry(d.invocation, d.target, instance)
        for d in deliveries
        if d.invocation.file is None
    ]
    run += [command_entry(r.invocation, r.target, instance) for r in scheduled]
    files = [file_entry(d.invocation) for d in deliveries if d.invocation.file is not None]
    stop = [command_entry(r.invocation, r.target, instance) for r in stopping]
    return ok(call, run=run, stop=stop, test=[], file=files, session=[])


def command_entry(inv: Invocation, target: Target, instance: Instance) -> dict[str, Any]:
    repeat, cron = schedule_of(inv, target)
    task = {
        "type": inv.command_type,
        "taskID": inv.invoke_id,
        "commandId": inv.command_id,
        # The agent names its script file <commandName>-<taskID>.iv<invokeVersion>.sh.
        "commandName": _UNSAFE.sub("_", inv.command_name)[:64],
        "commandContent": base64.b64encode(agent_api.script(inv, instance)).decode(),
        "workingDirectory": inv.working_dir,
        "args": "",
        "cron": cron,
        "timeOut": str(inv.timeout),  # a string: the agent reads no number here
        "invokeVersion": version(inv, target),
        "enableParameter": False,  # substituted already
        "username": inv.username,
        "windowsPasswordName": inv.windows_password_name,
        "creationTime": int(inv.creation_time * 1000),  # anchors rate()
        "containerId": inv.container_id,
        "containerName": inv.container_name,
        "builtInParameter": {},
    }
    return {"task": task, "output": REPORTING, "repeat": repeat}


def schedule_of(inv: Invocation, target: Target) -> tuple[str, str]:
    """(repeat, cron) as the agent reads them: a Period record is run on the agent's clock."""
    if inv.repeat_mode != "Period":
        return "Once", ""  # the controller decides when (reboot tasks included)
    rate = _RATE.fullmatch(inv.frequency.strip())
    if rate:
        return "Rate", f"rate({rate.group(1)}{rate.group(2).lower()})"
    if inv.frequency.strip().lower().startswith("at("):
        # The agent reads at() as UTC, without a zone: the moment the controller computed.
        moment = datetime.fromtimestamp(target.next_fire or 0, UTC)
        return "At", f"at({moment:%Y-%m-%dT%H:%M:%S})"
    return "Period", inv.frequency.strip()


def version(inv: Invocation, target: Target) -> int:
    """invokeVersion: a record's run, or for a schedule a digest of what it runs and when, so
    that a changed invocation replaces the schedule the agent holds."""
    if inv.repeat_mode != "Period":
        return target.run
    what = json.dumps([inv.content.hex(), inv.frequency, inv.parameters], sort_keys=True)
    return zlib.crc32(what.encode()) & 0x7FFFFFFF or 1


def file_entry(inv: Invocation) -> dict[str, Any]:
    assert inv.file is not None
    spec, content = inv.file, base64.b64encode(inv.content).decode()
    task = {
        "taskID": inv.invoke_id,
        "name": spec.name,
        "destination": spec.target_dir,
        "content": content,
        "contentType": "Base64",
        "signature": hashlib.md5(content.encode()).hexdigest(),  # of the Base64 text
        "mode": spec.file_mode,
        "owner": spec.file_owner,
        "group": spec.file_group,
        "overwrite": spec.overwrite,
        "timeout": inv.timeout,
    }
    return {"task": task, "output": REPORTING}
