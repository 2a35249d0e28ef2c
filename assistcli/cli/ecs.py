"""`assistcli ecs <Action> --Param value ...`: one command per action of the table.

Commands, their help (parameters, types, choices, required ones first) and the "did you mean"
suggestions are all generated from `assistcli.api.actions`; parameters are parsed by
`assistcli.cli.args`, not by click, because their grammar is the aliyun CLI's.
"""

from __future__ import annotations

from typing import Any

import click

from assistcli.api.actions import ACTIONS, API_VERSION, BY_NAME
from assistcli.api.spec import Action, Kind, Param
from assistcli.cli.args import parse, spellings
from assistcli.cli.exits import SuggestingGroup
from assistcli.cli.globals import GlobalOptions

PRODUCT = "Ecs (Cloud Assistant actions of Elastic Compute Service)"
TYPE_NAMES = {
    Kind.STRING: "String",
    Kind.INTEGER: "Integer",
    Kind.BOOLEAN: "Boolean",
    Kind.LIST: "RepeatList",
    Kind.STRUCTS: "RepeatList",
    Kind.JSON: "Json",
}
CONTEXT = {"help_option_names": ["-h", "--help"]}


class ActionCommand(click.Command):
    """One API action; its arguments go to the aliyun-style parser untouched."""

    def __init__(self, action: Action) -> None:
        super().__init__(action.name, help=action.summary, add_help_option=False)
        self.action = action

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.args = list(args)
        return ctx.args

    def invoke(self, ctx: click.Context) -> Any:
        from assistcli.cli import call

        options = ctx.find_object(GlobalOptions) or GlobalOptions()
        parsed = parse(self.action, ctx.args, force=options.force)
        if parsed.help:
            click.echo(self.get_help(ctx))
            return None
        return call.run(self.action, parsed.params, options)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "--Parameter value ...")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_paragraph()
        formatter.write_text(f"Product: {PRODUCT}, API version {API_VERSION}")
        required = [p for p in self.action.params if p.required and p.name != "RegionId"]
        optional = sorted(
            (p for p in self.action.params if p not in required), key=lambda p: p.name
        )
        for title, params in (("Required parameters", required), ("Parameters", optional)):
            if params:
                with formatter.section(title):
                    formatter.write_dl([(_term(p), _description(p)) for p in params])
        formatter.write_paragraph()
        formatter.write_text("Global flags (--profile, --output, --waiter, ...): assistcli --help")


def _term(param: Param) -> str:
    names = ", ".join(f"--{name}" for name in spellings(param))
    return names.replace(".1", ".n")


def _description(param: Param) -> str:
    parts = [f"{TYPE_NAMES[param.kind]}.", param.help]
    if param.name == "RegionId":
        parts.append("Default: the profile's region.")
    if param.kind is Kind.LIST:
        parts.append(f"Also --{param.name}s a b ..., a,b or a JSON array.")
    if param.choices:
        parts.append(f"One of: {', '.join(param.choices)}.")
    if param.default not in (None, ""):
        default = param.default
        parts.append(f"Default: {str(default).lower() if isinstance(default, bool) else default}.")
    return " ".join(part for part in parts if part)


class EcsGroup(SuggestingGroup):
    """The `ecs` product: its commands are the table's actions."""

    unknown = "api"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [action.name for action in ACTIONS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        action = BY_NAME.get(cmd_name)
        return ActionCommand(action) if action else None

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "<Action> --Parameter value ...")

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_paragraph()
        formatter.write_text(f"Product: {PRODUCT}, API version {API_VERSION}")
        with formatter.section("Available Api List"):
            formatter.write_dl([(action.name, action.summary) for action in ACTIONS])
        formatter.write_paragraph()
        formatter.write_text(
            "Run `assistcli ecs <Action> --help` to get more information about an action."
        )


ecs = EcsGroup(
    "ecs",
    help="Call a Cloud Assistant API action, as `aliyun ecs <Action> --Param value` does.",
    context_settings=CONTEXT,
)
