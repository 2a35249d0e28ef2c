"""`assistcli controller instance add|list|remove`: instances, straight in the store (agents
register themselves with agentd)."""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

import click

from assistcli.cli.exits import CliError
from assistcli.cli.listing import OUTPUT, echo_listing, timestamp
from assistcli.cli.store import StoreLocation, store_options, with_store

if TYPE_CHECKING:
    from assistcli.controller.models import Instance
    from assistcli.controller.store import Store

PAGE = 500  # instances read from the store at a time
COLUMNS = (
    "InstanceId",
    "InstanceName",
    "Hostname",
    "AgentStatus",
    "LastHeartbeatTime",
    "RegistrationTime",
)


@click.group("instance")
def instance() -> None:
    """List, add and remove instances in the store (agents register themselves with agentd)."""


@instance.command("add")
@store_options
@click.option("--name", default=socket.gethostname, help="Instance name.")
@click.option("--instance-id", help="Use this ID instead of a new mi-... one.")
def add(where: StoreLocation, name: str, instance_id: str | None) -> None:
    """Register an instance record and print its ID."""
    from assistcli.controller.ids import new_id
    from assistcli.controller.models import Instance

    record = Instance(
        instance_id=instance_id or new_id("mi-"),
        instance_name=name,
        registration_time=time.time(),
    )
    with_store(where, lambda store: store.add_instance(record))
    click.echo(record.instance_id)


@instance.command("list")
@store_options
@OUTPUT
def list_instances(where: StoreLocation, output_format: str) -> None:
    """List the instances and whether their agents are connected: a table, or --output
    json|yaml|text."""
    from assistcli.controller.settings import HEARTBEAT_WINDOW

    now = time.time()
    rows = [_row(found, now, HEARTBEAT_WINDOW) for found in with_store(where, _all_instances)]
    echo_listing("Instances", COLUMNS, rows, output_format)


async def _all_instances(store: Store) -> list[Instance]:
    from assistcli.controller.models import InstanceFilter, PageRequest

    found: list[Instance] = []
    while True:
        asked = PageRequest(offset=len(found), limit=PAGE)
        page = await store.list_instances(InstanceFilter(), asked)
        found += page.items
        if not page.has_more:
            return found


def _row(found: Instance, now: float, window: float) -> dict[str, str]:
    seen = found.last_heartbeat
    return {
        "InstanceId": found.instance_id,
        "InstanceName": found.instance_name,
        "Hostname": found.hostname,
        "AgentStatus": "Online" if seen is not None and now - seen <= window else "Offline",
        "LastHeartbeatTime": timestamp(seen),
        "RegistrationTime": timestamp(found.registration_time),
    }


@instance.command("remove")
@store_options
@click.argument("instance_id", metavar="INSTANCE_ID")
def remove(where: StoreLocation, instance_id: str) -> None:
    """Deregister an instance, as DeregisterManagedInstance does: its records that have not
    ended end (Terminated if they ran, else Aborted; InstanceReleased), and its agent is refused
    from now on, by a running controller too."""
    lagging = with_store(where, lambda store: _deregister(store, instance_id))
    if lagging is None:
        raise CliError(
            f"instance {instance_id!r} does not exist",
            tip="See `assistcli controller instance list`.",
        )
    for controller_id in lagging:
        click.echo(
            f"WARNING: controller {controller_id} has not confirmed it refuses the instance yet",
            err=True,
        )
    click.echo(f"{instance_id}: removed")


async def _deregister(store: Store, instance_id: str) -> list[str] | None:
    """Deregister, then wait for the running controllers to forget the instance; None when it
    does not exist, else the controllers that did not confirm in time."""
    from assistcli.controller.deregistrations import wait_applied

    if await store.deregister_instance(instance_id, time.time()) is None:
        return None
    _, position = await store.deregistrations(None)
    return await wait_applied(store, position)
