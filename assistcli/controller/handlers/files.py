"""SendFile and DescribeSendFileResults: small files written by the agents."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from assistcli.api.codec import Args
from assistcli.api.status import RecordStatus
from assistcli.controller import views
from assistcli.controller.content import check_size, decode_content
from assistcli.controller.context import Context
from assistcli.controller.handlers.invocations import target_instances
from assistcli.controller.ids import new_id
from assistcli.controller.models import FileSpec, Invocation, InvocationFilter, Target
from assistcli.controller.paging import page_fields, page_request
from assistcli.controller.tags import tag_filter, tags_to_set
from assistcli.errors import ApiError

CONTENT_LIMIT = 32 * 1024  # Base64 characters
MIN_TIMEOUT = 10  # shorter timeouts are raised to this, as the real service does


def _content(args: Args) -> bytes:
    raw = args.text("Content")
    try:
        data = decode_content(raw, args.text("ContentType"))
    except ApiError:
        raise ApiError("InvalidParameter.Content") from None
    try:
        check_size(data, CONTENT_LIMIT)
    except ApiError:
        raise ApiError("InvalidFileContent.LengthLimitExceeded") from None
    return data


def _check_path(target_dir: str, name: str) -> None:
    """Refuse at once what no agent could write (agents refuse it too)."""
    if "\0" in name or "/" in name or name in (".", ".."):
        raise ApiError("FileNameInvalid")
    if "\0" in target_dir:
        raise ApiError("FilePathInvalid")
    if not posixpath.isabs(target_dir) and target_dir[1:3] != ":\\":  # or C:\...
        raise ApiError("InvalidParameter.TargetDir")
    if ".." in re.split(r"[/\\]", target_dir):  # the path must say where it leads
        raise ApiError("InvalidParameter.TargetDir")


async def send_file(ctx: Context, args: Args) -> dict[str, Any]:
    target_dir = args.text("TargetDir")
    _check_path(target_dir, args.text("Name"))
    data = _content(args)
    instance_ids = [i.instance_id for i in await target_instances(ctx, args)]
    invoke_id = new_id("f-")
    invocation = Invocation(
        invoke_id=invoke_id,
        command_id="",
        command_name=args.text("Name"),
        command_type="",
        content=data,
        creation_time=ctx.now,
        command_description=args.text("Description"),
        timeout=max(MIN_TIMEOUT, args.number("Timeout") or 60),
        resource_group_id=args.text("ResourceGroupId"),
        region_id=args.text("RegionId"),
        kind="file",
        targets=[
            Target(
                invoke_id=invoke_id,
                instance_id=i,
                status=RecordStatus.PENDING,
                creation_time=ctx.now,
            )
            for i in instance_ids
        ],
        tags=tags_to_set(args.records("Tag")),
        file=FileSpec(
            name=args.text("Name"),
            target_dir=target_dir,
            content_type=args.text("ContentType"),
            file_mode=args.text("FileMode"),
            file_owner=args.text("FileOwner"),
            file_group=args.text("FileGroup"),
            overwrite=bool(args.flag("Overwrite")),
        ),
    )
    result = {"InvokeId": invoke_id}
    await ctx.store.insert_invocation(invocation, finished=ctx.finishing(result))
    ctx.notifier.notify(instance_ids)
    return result


async def describe_send_file_results(ctx: Context, args: Args) -> dict[str, Any]:
    where = InvocationFilter(
        invoke_id=args.optional_text("InvokeId"),
        instance_id=args.optional_text("InstanceId"),
        status=args.optional_text("InvocationStatus"),
        resource_group_id=args.optional_text("ResourceGroupId"),
        tags=tag_filter(args.records("Tag")),
        kind="file",
        file_name=args.optional_text("Name"),
    )
    found = await ctx.store.list_invocations(where, page_request(args))
    shown = [views.send_file_invocation(i, i.file) for i in found.items if i.file is not None]
    return {"Invocations": {"Invocation": shown}, **page_fields(found)}
