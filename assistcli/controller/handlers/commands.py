"""CreateCommand, ModifyCommand, DeleteCommand, DescribeCommands."""

from __future__ import annotations

from typing import Any

from assistcli.api.codec import Args
from assistcli.controller import content, views
from assistcli.controller.context import Context
from assistcli.controller.ids import new_id
from assistcli.controller.models import Command, CommandFilter, Page
from assistcli.controller.paging import page_fields, page_request
from assistcli.controller.tags import tag_filter, tags_to_set
from assistcli.errors import ApiError

DEFAULT_TIMEOUT = 60


def new_command(ctx: Context, args: Args, *, size_limit: int) -> Command:
    """A command built from CreateCommand / RunCommand arguments (not yet stored)."""
    script = content.decode_content(args.text("CommandContent"), args.text("ContentEncoding"))
    content.check_size(script, size_limit)
    enabled = bool(args.flag("EnableParameter"))
    return Command(
        command_id=new_id("c-"),
        name=args.text("Name"),
        type=args.text("Type"),
        content=script,
        description=args.text("Description"),
        working_dir=args.text("WorkingDir"),
        timeout=args.number("Timeout") or DEFAULT_TIMEOUT,
        enable_parameter=enabled,
        parameter_names=content.parameter_names(script) if enabled else [],
        launcher=args.text("Launcher"),
        resource_group_id=args.text("ResourceGroupId"),
        creation_time=ctx.now,
        tags=tags_to_set(args.records("Tag")),
    )


async def existing_command(ctx: Context, command_id: str) -> Command:
    found = await ctx.store.get_command(command_id)
    if found is None:
        raise ApiError("InvalidCmdId.NotFound", f"The command {command_id} does not exist.")
    return found


async def create_command(ctx: Context, args: Args) -> dict[str, Any]:
    command = new_command(ctx, args, size_limit=content.RETAINED_LIMIT)
    if await ctx.store.count_commands() >= ctx.settings.max_commands:
        raise ApiError("CmdCount.ExceedQuota")
    result = {"CommandId": command.command_id}
    await ctx.store.insert_command(command, ctx.finishing(result))
    return result


async def modify_command(ctx: Context, args: Args) -> dict[str, Any]:
    command = await existing_command(ctx, args.text("CommandId"))
    for field, name in (
        ("name", "Name"),
        ("description", "Description"),
        ("working_dir", "WorkingDir"),
        ("launcher", "Launcher"),
    ):
        value = args.optional_text(name)
        if value is not None:
            setattr(command, field, value)
    command.timeout = args.number("Timeout") or command.timeout
    await ctx.store.update_command(command)
    return {}


async def delete_command(ctx: Context, args: Args) -> dict[str, Any]:
    command_id = args.text("CommandId")
    if not await ctx.store.delete_command(command_id):
        raise ApiError("InvalidCmdId.NotFound", f"The command {command_id} does not exist.")
    return {}


async def describe_commands(ctx: Context, args: Args) -> dict[str, Any]:
    page = page_request(args)
    where = CommandFilter(
        command_id=args.optional_text("CommandId"),
        name=args.optional_text("Name"),
        description=args.optional_text("Description"),
        type=args.optional_text("Type"),
        resource_group_id=args.optional_text("ResourceGroupId"),
        tags=tag_filter(args.records("Tag")),
    )
    if args.text("Provider"):  # public commands: this controller hosts none
        found: Page[Command] = Page(items=[], total=0, request=page)
    else:
        found = await ctx.store.list_commands(where, page)
    encoding = args.text("ContentEncoding")
    return {
        "Commands": {"Command": [views.command(c, encoding) for c in found.items]},
        **page_fields(found),
    }
