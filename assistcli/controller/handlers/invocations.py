"""InvokeCommand, RunCommand, StopInvocation, ModifyInvocationAttribute and the two Describes."""

from __future__ import annotations

import re
from typing import Any

from assistcli.api import status as st
from assistcli.api.agent import INTERPRETERS
from assistcli.api.codec import Args
from assistcli.api.status import RepeatMode
from assistcli.controller import content, frequency, views
from assistcli.controller.context import Context
from assistcli.controller.handlers.commands import existing_command, new_command
from assistcli.controller.ids import new_id
from assistcli.controller.models import (
    Command,
    Instance,
    InstanceFilter,
    Invocation,
    InvocationFilter,
    Page,
    PageRequest,
    Result,
    ResultFilter,
)
from assistcli.controller.paging import page_fields, page_request
from assistcli.controller.scheduler import arm, first_fire, utc
from assistcli.controller.tags import tag_filter, tags_to_set
from assistcli.errors import ApiError, missing

MAX_INSTANCES = 100
CONTAINER_ID = re.compile(r"^(?:(?:docker|containerd|cri-o)://)?[0-9a-f]{64}$")
CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


async def invoke_command(ctx: Context, args: Args) -> dict[str, Any]:
    command = await existing_command(ctx, args.text("CommandId"))
    invocation, instances = await _prepare(ctx, args, command, content.RETAINED_LIMIT)
    if invocation.repeat_mode == RepeatMode.DRY_RUN:
        return {"InvokeId": "", "DryRun": dry_run(ctx, command, instances)}
    result = {"InvokeId": invocation.invoke_id}
    await _store(ctx, invocation, result)
    return result


async def run_command(ctx: Context, args: Args) -> dict[str, Any]:
    keep = bool(args.flag("KeepCommand"))
    limit = content.RETAINED_LIMIT if keep else content.ONE_OFF_LIMIT
    command = new_command(ctx, args, size_limit=limit)
    invocation, instances = await _prepare(ctx, args, command, limit)
    if invocation.repeat_mode == RepeatMode.DRY_RUN:
        return {"CommandId": "", "InvokeId": "", "DryRun": dry_run(ctx, command, instances)}
    result = {"CommandId": command.command_id, "InvokeId": invocation.invoke_id}
    await _store(ctx, invocation, result, command if keep else None)
    return result


async def _store(
    ctx: Context, invocation: Invocation, result: dict[str, Any], command: Command | None = None
) -> None:
    await ctx.store.insert_invocation(invocation, command, ctx.finishing(result))
    ctx.notifier.notify(t.instance_id for t in invocation.targets)
    if invocation.repeat_mode == RepeatMode.PERIOD:
        ctx.notifier.schedules_changed.set()


def dry_run(ctx: Context, command: Command, instances: list[Instance]) -> dict[str, Any]:
    """What a real run would meet on each instance; nothing is stored or run."""
    found = []
    for instance in instances:
        online = ctx.agent_online(instance)
        applicable = INTERPRETERS[command.type] in instance.interpreters
        problem = "" if online else "ClientNotRunning"
        problem = problem or ("" if applicable else "CommandNotApplicable")
        found.append(
            {
                "InstanceId": instance.instance_id,
                "CloudAssistantStatus": "true" if online else "false",
                "CommandApplicable": applicable,
                "ErrorCode": problem,
            }
        )
    return {"Passed": all(not row["ErrorCode"] for row in found), "Instances": found}


async def _prepare(
    ctx: Context, args: Args, command: Command, size_limit: int
) -> tuple[Invocation, list[Instance]]:
    """Validate a run of `command`: the invocation to store, with its records, and the
    instances it targets."""
    repeat_mode = _repeat_mode(args)
    instances = await target_instances(ctx, args)
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
        tags=tags_to_set(args.records("Tag")),
    )
    if repeat_mode == RepeatMode.PERIOD:
        check_frequency(invocation.frequency, ctx.now, invocation.timeout)
    invocation.targets = arm(invocation, instances, ctx.now)
    return invocation, instances


def _repeat_mode(args: Args) -> RepeatMode:
    """Frequency implies Period; the legacy Timed flag is ignored, as in the current API."""
    given = args.optional_text("RepeatMode")
    mode = RepeatMode(given) if given else RepeatMode.ONCE
    if not given and args.text("Frequency"):
        mode = RepeatMode.PERIOD
    if mode == RepeatMode.PERIOD and not args.text("Frequency"):
        raise ApiError("MissingParam.Frequency")
    return mode


def check_frequency(text: str, now: float, timeout: int) -> None:
    try:
        frequency.validate(text, anchor=utc(now), timeout=timeout)
    except frequency.FrequencyError as error:
        raise ApiError("InvalidParam.Frequency", str(error)) from None


async def target_instances(ctx: Context, args: Args) -> list[Instance]:
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
    return await existing_instances(ctx, instance_ids)


async def existing_instances(ctx: Context, instance_ids: list[str]) -> list[Instance]:
    """The registered instances `instance_ids`, in that order; any unknown one is an error."""
    page = PageRequest(limit=len(instance_ids))
    found = await ctx.store.list_instances(InstanceFilter(instance_ids=instance_ids), page)
    by_id = {instance.instance_id: instance for instance in found.items}
    for instance_id in instance_ids:
        if instance_id not in by_id:
            raise ApiError.of("InvalidInstance.NotFound", instance_id=instance_id)
    return [by_id[instance_id] for instance_id in instance_ids]


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
    """Change a scheduled task in place: frequency, content, parameters, more instances."""
    invocation = await existing_invocation(ctx, args.text("InvokeId"))
    if invocation.repeat_mode not in st.REPEATING:
        raise ApiError("InvalidOperation.RepeatModeUnsupported")
    if st.is_terminal(invocation.status):
        raise ApiError("InvalidOperation.InvokeAlreadyFinished")
    if args.text("Frequency"):
        _reschedule(ctx, invocation, args.text("Frequency"))
    if args.text("CommandContent"):
        script = content.decode_content(args.text("CommandContent"), args.text("ContentEncoding"))
        invocation.command_id, invocation.content = new_id("c-"), script
    enabled = args.flag("EnableParameter")
    if enabled is None:
        enabled = invocation.parameters is not None
    raw = args.text("Parameters").strip()
    if raw or args.text("CommandContent") or args.flag("EnableParameter") is not None:
        names = content.parameter_names(invocation.content) if enabled else []
        given = content.parse_parameters(raw) if raw else invocation.parameters
        invocation.parameters = content.bind(names, enabled, given) if enabled else None
    content.check_size(
        content.render(invocation.content, invocation.parameters or {}), content.RETAINED_LIMIT
    )
    added = await _added_instances(ctx, invocation, args.strings("InstanceId"))
    await ctx.store.modify_invocation(invocation, arm(invocation, added, ctx.now))
    ctx.notifier.schedules_changed.set()
    # Alibaba's agent holds the schedule itself: it must fetch the new one (agentd's just look).
    holding = {t.instance_id for t in invocation.targets}
    ctx.notifier.notify(holding | {instance.instance_id for instance in added})
    return {"CommandId": invocation.command_id}


def _reschedule(ctx: Context, invocation: Invocation, text: str) -> None:
    """A new frequency keeps the task's creation time as the rate() anchor."""
    if invocation.repeat_mode != RepeatMode.PERIOD:
        raise ApiError("InvalidParam.Frequency", "Only Period tasks have a Frequency.")
    check_frequency(text, ctx.now, invocation.timeout)
    invocation.frequency = text
    for target in invocation.targets:
        if target.next_fire is not None:
            target.next_fire = first_fire(invocation, target, ctx.now)


async def _added_instances(
    ctx: Context, invocation: Invocation, instance_ids: list[str]
) -> list[Instance]:
    present = {t.instance_id for t in invocation.targets}
    new = [i for i in instance_ids if i not in present]
    if len(present) + len(new) > MAX_INSTANCES:
        raise ApiError("InvalidInstanceId.CountLimitExceeded")
    return await existing_instances(ctx, new) if new else []


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


async def _results(ctx: Context, where: ResultFilter, args: Args) -> Page[Result]:
    """Per-instance records, or with IncludeHistory every run of a repeating task."""
    if args.flag("IncludeHistory") and where.invoke_id:
        invocation = await ctx.store.get_invocation(where.invoke_id)
        if invocation is not None and invocation.repeat_mode in st.REPEATING:
            return await ctx.store.run_history(
                where.invoke_id, where.instance_id, page_request(args)
            )
    return await ctx.store.list_results(where, page_request(args))


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
    found = await _results(ctx, where, args)
    encoding = args.text("ContentEncoding")
    results = [views.invocation_result(r.target, r.invocation, encoding) for r in found.items]
    return {
        "Invocation": {"InvocationResults": {"InvocationResult": results}, **page_fields(found)}
    }
