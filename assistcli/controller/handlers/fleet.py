"""Activations, managed instances and agent status."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from assistcli.api.codec import Args
from assistcli.controller import views
from assistcli.controller.context import Context
from assistcli.controller.deregistrations import release, wait_released
from assistcli.controller.ids import new_id, new_secret
from assistcli.controller.models import Activation, Instance, InstanceFilter
from assistcli.controller.paging import page_fields, page_request
from assistcli.controller.sessions import secret_hash
from assistcli.controller.tags import tag_filter, tags_to_set
from assistcli.errors import ApiError

# Names start with a letter and may hold letters, digits, '.', '_', '-' and ':'.
INSTANCE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._:-]+$")


async def create_activation(ctx: Context, args: Args) -> dict[str, Any]:
    prefix, ip_range = args.text("InstanceName"), args.text("IpAddressRange")
    if prefix and not INSTANCE_NAME.match(prefix):
        raise ApiError("InvalidParameter.InstanceName")
    if ip_range:
        try:
            ipaddress.ip_network(ip_range, strict=False)
        except ValueError:
            raise ApiError("InvalidParameter.IpAddressRange") from None
    code = new_secret()
    activation = Activation(
        activation_id=new_id("", 8).upper() + "-" + new_id("", 12).upper(),
        code_hash=secret_hash(code),
        instance_count=args.number("InstanceCount") or 10,
        time_to_live_hours=args.number("TimeToLiveInHours") or 4,
        creation_time=ctx.now,
        description=args.text("Description"),
        instance_name=prefix,
        ip_address_range=ip_range,
        resource_group_id=args.text("ResourceGroupId"),
        tags=tags_to_set(args.records("Tag")),
    )
    result = {"ActivationId": activation.activation_id, "ActivationCode": code}
    await ctx.store.insert_activation(activation, ctx.finishing(result))
    return result


async def existing_activation(ctx: Context, activation_id: str) -> Activation:
    found = await ctx.store.get_activation(activation_id)
    if found is None:
        raise ApiError("InvalidActivationId.NotFound")
    return found


async def describe_activations(ctx: Context, args: Args) -> dict[str, Any]:
    found = await ctx.store.list_activations(
        args.optional_text("ActivationId"),
        args.optional_text("InstanceName"),
        args.optional_text("ResourceGroupId"),
        tag_filter(args.records("Tag")),
        page_request(args),
    )
    return {"ActivationList": [views.activation(a) for a in found.items], **page_fields(found)}


async def disable_activation(ctx: Context, args: Args) -> dict[str, Any]:
    activation = await existing_activation(ctx, args.text("ActivationId"))
    await ctx.store.disable_activation(activation.activation_id)
    activation.disabled = True
    return {"Activation": views.activation(activation, with_tags=False)}


async def delete_activation(ctx: Context, args: Args) -> dict[str, Any]:
    activation = await existing_activation(ctx, args.text("ActivationId"))
    if activation.registered_count:
        raise ApiError("Activation.InUse")
    await ctx.store.delete_activation(activation.activation_id)
    shown = views.activation(activation, with_tags=False)
    del shown["Disabled"]
    return {"Activation": shown}


async def describe_managed_instances(ctx: Context, args: Args) -> dict[str, Any]:
    where = InstanceFilter(
        instance_ids=args.strings("InstanceId"),
        instance_name=args.optional_text("InstanceName"),
        instance_ip=args.optional_text("InstanceIp"),
        activation_id=args.optional_text("ActivationId"),
        os_type=args.optional_text("OsType"),
        machine_id=args.optional_text("MachineId"),
        resource_group_id=args.optional_text("ResourceGroupId"),
        tags=tag_filter(args.records("Tag")),
    )
    connected = args.optional_text("Connected")
    if connected == "true":
        where.connected_since = ctx.now - ctx.settings.heartbeat_window
    elif connected == "false":
        where.disconnected_before = ctx.now - ctx.settings.heartbeat_window
    found = await ctx.store.list_instances(where, page_request(args))
    stats = await ctx.store.instance_stats([i.instance_id for i in found.items])
    instances = [
        views.managed_instance(i, stats[i.instance_id], ctx.agent_online(i)) for i in found.items
    ]
    return {"Instances": instances, **page_fields(found)}


async def existing_instance(ctx: Context, instance_id: str) -> Instance:
    found = await ctx.store.get_instance(instance_id)
    if found is None:
        raise ApiError.of("InvalidInstanceId.NotFound", instance_id=instance_id)
    return found


async def deregister_managed_instance(ctx: Context, args: Args) -> dict[str, Any]:
    instance_id = args.text("InstanceId")
    removed = await ctx.store.deregister_instance(instance_id, ctx.now)
    if removed is None:
        raise ApiError.of("InvalidInstanceId.NotFound", instance_id=instance_id)
    release(ctx, instance_id)
    await wait_released(ctx)
    stats = await ctx.store.instance_stats([instance_id])
    shown = views.managed_instance(removed, stats[instance_id], connected=False)
    for field in ("Connected", "Tags"):
        del shown[field]
    return {"Instance": shown}


async def modify_managed_instance(ctx: Context, args: Args) -> dict[str, Any]:
    instance = await existing_instance(ctx, args.text("InstanceId"))
    name = args.text("InstanceName")
    if len(name) < 2 or not INSTANCE_NAME.match(name):
        raise ApiError("InvalidParameter.InstanceName")
    await ctx.store.rename_instance(instance.instance_id, name)
    return {"Instance": {"InstanceId": instance.instance_id, "InstanceName": name}}


async def describe_cloud_assistant_status(ctx: Context, args: Args) -> dict[str, Any]:
    os_type = args.optional_text("OSType")
    where = InstanceFilter(
        instance_ids=args.strings("InstanceId"), os_type=os_type.lower() if os_type else None
    )
    found = await ctx.store.list_instances(where, page_request(args))
    stats = await ctx.store.instance_stats([i.instance_id for i in found.items])
    rows = [
        views.assistant_status(i, stats[i.instance_id], ctx.agent_online(i)) for i in found.items
    ]
    return {
        "InstanceCloudAssistantStatusSet": {"InstanceCloudAssistantStatus": rows},
        **page_fields(found),
    }
