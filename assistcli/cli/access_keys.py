"""`assistcli controller access-key create|list|enable|disable|delete`: the API keys.

The controller reads a key from its store at every request, so a key disabled or deleted here is
refused at once by a running controller too (InvalidAccessKeyId.Inactive or .NotFound)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import click

from assistcli.cli.exits import CliError
from assistcli.cli.listing import OUTPUT, echo_listing, timestamp
from assistcli.cli.store import StoreLocation, store_options, with_store

if TYPE_CHECKING:
    from assistcli.controller.store import Store

KEY_ID = click.argument("access_key_id", metavar="KEY_ID")
COLUMNS = ("AccessKeyId", "Status", "CreateTime", "LastUsedTime")


@click.group("access-key")
def access_key() -> None:
    """Manage the API keys that sign requests."""


@access_key.command("create")
@store_options
def create(where: StoreLocation) -> None:
    """Create an API key pair and print it once, as JSON."""
    from assistcli.controller.ids import new_access_key

    key_id, secret = new_access_key()
    with_store(where, lambda store: store.add_access_key(key_id, secret, time.time()))
    click.echo(json.dumps({"AccessKeyId": key_id, "AccessKeySecret": secret}, indent=2))


@access_key.command("list")
@store_options
@OUTPUT
def list_keys(where: StoreLocation, output_format: str) -> None:
    """List the keys (never their secrets): a table, or --output json|yaml|text."""
    keys = with_store(where, lambda store: store.list_access_keys())
    rows = [
        {
            "AccessKeyId": key.access_key_id,
            "Status": "Active" if key.enabled else "Inactive",
            "CreateTime": timestamp(key.created_at),
            "LastUsedTime": timestamp(key.last_used),  # to the minute
        }
        for key in keys
    ]
    echo_listing("AccessKeys", COLUMNS, rows, output_format)


@access_key.command("disable")
@store_options
@KEY_ID
def disable(where: StoreLocation, access_key_id: str) -> None:
    """Refuse the key's requests (InvalidAccessKeyId.Inactive) until it is enabled again."""
    _change(where, access_key_id, lambda store: store.set_access_key_enabled(access_key_id, False))
    click.echo(f"{access_key_id}: Inactive")


@access_key.command("enable")
@store_options
@KEY_ID
def enable(where: StoreLocation, access_key_id: str) -> None:
    """Accept the key's requests again."""
    _change(where, access_key_id, lambda store: store.set_access_key_enabled(access_key_id, True))
    click.echo(f"{access_key_id}: Active")


@access_key.command("delete")
@store_options
@KEY_ID
def delete(where: StoreLocation, access_key_id: str) -> None:
    """Delete the key for good (its requests answer InvalidAccessKeyId.NotFound)."""
    _change(where, access_key_id, lambda store: store.delete_access_key(access_key_id))
    click.echo(f"{access_key_id}: deleted")


def _change(
    where: StoreLocation, access_key_id: str, change: Callable[[Store], Awaitable[bool]]
) -> None:
    if not with_store(where, change):
        raise CliError(
            f"access key {access_key_id!r} does not exist",
            tip="See `assistcli controller access-key list`.",
        )
