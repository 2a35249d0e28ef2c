"""What the controller's admin commands list: a table by default, or `--output json|yaml|text`
as the API calls print them (the controller's commands take no global flags)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import click

from assistcli.output import FORMATS, OutputSpec, render, tabulate

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # the API's

OUTPUT = click.option(
    "--output",
    "-o",
    "output_format",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="How to print the list.",
)


def timestamp(seconds: float | None) -> str:
    """The API's time format; empty for a moment that never came."""
    return "" if seconds is None else time.strftime(TIME_FORMAT, time.gmtime(seconds))


def echo_listing(
    name: str, columns: Sequence[str], rows: list[dict[str, str]], output_format: str
) -> None:
    """`rows` (dicts keyed by `columns`) as a table with its header, even when empty, or as
    `{name: rows}` in another format."""
    if output_format == "table":
        click.echo(tabulate(columns, [[row[column] for column in columns] for row in rows]))
    else:
        click.echo(render({name: rows}, OutputSpec(format=output_format)))
