"""Where the controller keeps its state: the `--data-dir` and `--store` options shared by
`controller serve` and every command that administers the store, and running work on it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from assistcli.paths import data_dir as default_data_dir

if TYPE_CHECKING:
    from assistcli.controller.store import Store

T = TypeVar("T")

DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_data_dir,
    show_default="$XDG_DATA_HOME/assist",
    help="Directory holding the controller's database, TLS files and logs.",
)


@dataclass(frozen=True, slots=True)
class StoreLocation:
    data_dir: Path
    url: str | None = None  # None: SQLite in DATA_DIR/assist.db; else absolute (normalized_url)


def _checked_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from assistcli.controller.store import UnsupportedStore, normalized_url

    try:
        return normalized_url(value)
    except UnsupportedStore as error:
        raise click.BadParameter(str(error), ctx, param) from None


STORE_URL = click.option(
    "--store",
    "store_url",
    metavar="URL",
    callback=_checked_url,
    help="The controller's store: sqlite:///PATH (or a file path), or "
    "postgresql://USER@HOST:PORT/DB shared by several controllers (docs/scale-out.md). "
    "Default: SQLite in DATA_DIR/assist.db.",
)


def store_options(command: Callable[..., T]) -> Callable[..., T]:
    """`--data-dir` and `--store`, handed to the command as one `where: StoreLocation`."""

    @functools.wraps(command)
    def located(*args: Any, data_dir: Path, store_url: str | None, **kwargs: Any) -> T:
        return command(*args, where=StoreLocation(data_dir, store_url), **kwargs)

    return DATA_DIR(STORE_URL(located))


def with_store(where: StoreLocation, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the controller's store, run `work`, close it. A store that cannot be reached is a
    one-line error."""
    from assistcli.cli.exits import CliError
    from assistcli.controller.store import open_store
    from assistcli.controller.store.base import StoreUnavailable

    async def run() -> T:
        store = open_store(where.url, where.data_dir)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except StoreUnavailable as error:
        raise CliError(str(error)) from None


def check_store(where: StoreLocation) -> None:
    """Open and close the store (applying its migrations): its error, if any, before serving."""

    async def nothing(store: Store) -> None:
        pass

    with_store(where, nothing)
