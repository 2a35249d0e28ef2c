"""TagResources, UntagResources, ListTagResources for commands and invocations."""

from __future__ import annotations

from typing import Any

from assistcli.api.codec import Args
from assistcli.controller.context import Context
from assistcli.controller.models import PageRequest
from assistcli.controller.paging import decode_token, next_token
from assistcli.controller.tags import tag_filter, tags_to_set
from assistcli.errors import ApiError, missing

MAX_TAGS_PER_RESOURCE = 20
LIST_PAGE_SIZE = 50


async def _existing(ctx: Context, args: Args) -> tuple[str, list[str]]:
    resource_type, resource_ids = args.text("ResourceType"), args.strings("ResourceId")
    found = await ctx.store.existing_resources(resource_type, resource_ids)
    for resource_id in resource_ids:
        if resource_id not in found:
            raise ApiError.of("InvalidResourceId.NotFound", resource_id=resource_id)
    return resource_type, resource_ids


async def tag_resources(ctx: Context, args: Args) -> dict[str, Any]:
    tags = tags_to_set(args.records("Tag"))
    resource_type, resource_ids = await _existing(ctx, args)
    for resource_id in resource_ids:
        if await ctx.store.tag_count(resource_type, resource_id) + len(tags) > (
            MAX_TAGS_PER_RESOURCE
        ):
            raise ApiError("InvalidTagCount")
    await ctx.store.tag(resource_type, resource_ids, tags)
    return {}


async def untag_resources(ctx: Context, args: Args) -> dict[str, Any]:
    keys, remove_all = args.strings("TagKey"), bool(args.flag("All"))
    if keys and remove_all:
        raise ApiError("InvalidParameter", "Give either TagKey.N or All=true, not both.")
    if not keys and not remove_all:
        raise missing("TagKey")
    resource_type, resource_ids = await _existing(ctx, args)
    await ctx.store.untag(resource_type, resource_ids, None if remove_all else keys)
    return {}


async def list_tag_resources(ctx: Context, args: Args) -> dict[str, Any]:
    page = PageRequest(offset=decode_token(args.text("NextToken")), limit=LIST_PAGE_SIZE)
    found = await ctx.store.list_tags(
        args.text("ResourceType"), args.strings("ResourceId"), tag_filter(args.records("Tag")), page
    )
    rows = [
        {"ResourceId": rid, "ResourceType": args.text("ResourceType"), "TagKey": k, "TagValue": v}
        for rid, k, v in found.items
    ]
    return {"TagResources": {"TagResource": rows}, "NextToken": next_token(found)}
