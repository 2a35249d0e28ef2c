"""InvokeCommand, RunCommand, StopInvocation, ModifyInvocationAttribute and the two Describes."""

from __future__ import annotations

import re
from typing import Any

from assistcli.api import status as st
from assistcli.api.codec import Args
from assistcli.controller import content, views
from assistcli.controller.context import Context
from assistcli.controller.handlers.commands import existing_command, new_command
from assistcli.controller.ids import new_id
from assistcli.controller.models import (
    Command,
    Invocation,
    InvocationFilter,
    ResultFilter,
    Target,
)
from assistcli.controller.paging import page_fields, page_request
from assistcli.controller.tags import tag_filter, tags_to_set
from assistcli.errors import ApiError, missing

MAX_INSTANCES = 100
CONTAINER_ID = re.compile(r"^(?:(?:docker|containerd|cri-o)://)?[0-9a-f]{64}$")
CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Scheduled and reboot-triggered runs need the scheduler; until it exists they are refused
# with a clear error rather than accepted and never run.
SUPPORTED_REPEAT_MODES = ("Once",)


async def invoke_command(ctx: Context, args: Args) -> dict[str, Any]:
    command = await existing_command(ctx, args.text("CommandId"))
    invocation = await _start(ctx, args, command, content.RETAINED_LIMIT)
    return {"InvokeId": invocation.invoke_id}


async def run_command(ctx: Context, args: Args) -> dict[str, Any]:
    keep = bool(args.flag("KeepCommand"))
    limit = content.RETAINED_LIMIT if keep else content.ONE_OFF_LIMIT
    command = new_command(ctx, args, size_limit=limit)
    invocation = await _start(ctx, args, command, limit, store_command=keep)
    return {"CommandId": command.command_id, "InvokeId": invocation.invoke_id}


async def _start(
    ctx: Context, args: Args, command: Command, size_limit: int, *, store_command: bool = False
) -> Invocation:
    """Validate a run of `command`, then store the invocation (and, when asked, the command)."""
    repeat_mode = _repeat_mode(args)
    instance_ids = await target_instances(ctx, args)
    raw_parameters = args.text("Parameters").strip()
    values = content.parse_parameters(raw_parameters) if raw_parameters else None
    bound = content.bind(command.parameter_names, command.enable_parameter, values)
    content.check_size(content.render(command.content, bound), size_limit)
    _check_container(args)
    invoke_id = new_id("t-")
    invocation = Invocation(
        invoke_id=invoke_id,
        command_id=command.command_id,
        command_name=command.name,
        command_type=command.type,
        command_description=command.description,
        content=command.content,
        creation_time=ctx.now,
        parameters=bound if command.enable_parameter else None,
        repeat_mode=repeat_mode,
        frequency=args.text("Frequency"),
        timeout=args.number("Timeout") or command.timeout,
        username=args.text("Username"),
        working_dir=args.text("WorkingDir") or command.working_dir,
        container_id=args.text("ContainerId"),
        container_name=args.text("ContainerName"),
        launcher=args.text("Launcher") or command.launcher,
        termination_mode=args.text("TerminationMode"),
        oss_output_delivery=args.text("OssOutputDelivery"),
        windows_password_name=args.text("WindowsPasswordName"),
        resource_group_id=args.text("ResourceGroupId"),
        region_id=args.text("RegionId"),
        targets=[
            Target(invoke_id=invoke_id, instance_id=i, status=st.PENDING, creation_time=ctx.now)
            for i in instance_ids
        ],
        tags=tags_to_set(args.records("Tag")),
    )
    if store_command:
        await ctx.store.insert_command(command)
    await ctx.store.insert_invocation(invocation)
    ctx.notifier.notify(instance_ids)
    return invocation


def _repeat_mode(args: Args) -> str:
    mode = args.optional_text("RepeatMode") or ("Period" if args.text("Frequency") else "Once")
    if mode == "Period" and not args.text("Frequency"):
        raise ApiError("MissingParam.Frequency")
    if mode not in SUPPORTED_REPEAT_MODES:
        raise ApiError.of("InvalidRepeatMode.Unsupported", mode=mode)
    return mode


async def target_instances(ctx: Context, args: Args) -> list[str]:
    """Instance IDs named directly or selected by ResourceTag; every one must exist."""
    instance_ids, resource_tags = args.strings("InstanceId"), args.records("ResourceTag")
    if instance_ids and resource_tags:
        raise ApiError("InvalidResourceTag.ConflictWithInstanceIds")
    if resource_tags:
        instance_ids = await ctx.store.instances_tagged(tag_filter(resource_tags))
        if not instance_ids:
            raise ApiError("InvalidResourceTag.InstanceNotFound")
    if not instance_ids:
        raise ApiError("MissingParam.InstanceId")
    if len(instance_ids) > MAX_INSTANCES:
        raise ApiError("InstanceIds.ExceedLimit", f"At most {MAX_INSTANCES} instances per call.")
    known = await ctx.store.known_instances(instance_ids)
    for instance_id in instance_ids:
        if instance_id not in known:
            raise ApiError.of("InvalidInstance.NotFound", instance_id=instance_id)
    return instance_ids


def _check_container(args: Args) -> None:
    container_id, container_name = args.text("ContainerId"), args.text("ContainerName")
    if container_id and not CONTAINER_ID.match(container_id):
        raise ApiError("InvalidContainerId.Malformed")
    if container_name and not CONTAINER_NAME.match(container_name):
        raise ApiError("InvalidContainerName.Malformed")


async def existing_invocation(ctx: Context, invoke_id: str) -> Invocation:
    found = await ctx.store.get_invocation(invoke_id)
    if found is None:
        raise ApiError("InvalidInvokeId.NotFound")
    return found


async def stop_invocation(ctx: Context, args: Args) -> dict[str, Any]:
    invocation = await existing_invocation(ctx, args.text("InvokeId"))
    instance_ids = args.strings("InstanceId")
    part_of_task = {t.instance_id for t in invocation.targets}
    for instance_id in instance_ids:
        if instance_id not in part_of_task:
            raise ApiError(
                "InvalidInstanceId.NotFound", f"The instance {instance_id} is not in the task."
            )
    await ctx.store.stop_targets(invocation.invoke_id, instance_ids, ctx.now)
    ctx.notifier.notify(instance_ids or part_of_task)  # their agents kill what runs
    return {}


async def modify_invocation_attribute(ctx: Context, args: Args) -> dict[str, Any]:
    invocation = await existing_invocation(ctx, args.text("InvokeId"))
    if invocation.repeat_mode not in ("Period", "NextRebootOnly", "EveryReboot"):
        raise ApiError("InvalidOperation.RepeatModeUnsupported")
    raise ApiError("InvalidOperation.InvokeAlreadyFinished")  # no other task can exist yet


async def describe_invocations(ctx: Context, args: Args) -> dict[str, Any]:
    where = InvocationFilter(
        invoke_id=args.optional_text("InvokeId"),
        command_id=args.optional_text("CommandId"),
        command_type=args.optional_text("CommandType"),
        instance_id=args.optional_text("InstanceId"),
        status=args.optional_text("InvokeStatus"),
        timed=args.flag("Timed"),
        resource_group_id=args.optional_text("ResourceGroupId"),
        tags=tag_filter(args.records("Tag")),
    )
    if not where.instance_id:  # both are ignored when InstanceId is given, as documented
        where.command_name = args.optional_text("CommandName")
        where.repeat_mode = args.optional_text("RepeatMode")
    found = await ctx.store.list_invocations(where, page_request(args))
    encoding, output = args.text("ContentEncoding"), bool(args.flag("IncludeOutput"))
    return {
        "Invocations": {"Invocation": [views.invocation(i, encoding, output) for i in found.items]},
        **page_fields(found),
    }


async def describe_invocation_results(ctx: Context, args: Args) -> dict[str, Any]:
    if args.flag("IncludeHistory") and not args.text("InvokeId"):
        raise missing("InvokeId")
    record_status = args.optional_text("InvokeRecordStatus")
    where = ResultFilter(
        invoke_id=args.optional_text("InvokeId"),
        instance_id=args.optional_text("InstanceId"),
        command_id=args.optional_text("CommandId"),
        statuses=st.record_statuses_matching(record_status) if record_status else None,
        resource_group_id=args.optional_text("ResourceGroupId"),
        tags=tag_filter(args.records("Tag")),
    )
    found = await ctx.store.list_results(where, page_request(args))
    encoding = args.text("ContentEncoding")
    results = [views.invocation_result(r.target, r.invocation, encoding) for r in found.items]
    return {
        "Invocation": {"InvocationResults": {"InvocationResult": results}, **page_fields(found)}
    }
