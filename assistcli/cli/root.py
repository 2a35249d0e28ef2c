"""The `assistcli` root command: lazy subcommands, global flags, one error funnel.

Subcommands are imported only when run, so `assistcli --help` costs little more than importing
click. `RootGroup.main` lifts the global flags out of argv, runs click without its own error
handling and turns every failure into a message and an exit code (`assistcli.cli.exits`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from assistcli.cli.exits import ExitCode, SuggestingGroup, report
from assistcli.cli.globals import GLOBAL_FLAGS, split_globals
from assistcli.cli.lazy import LazyGroup

# name -> (module:attribute, one-line help); the help is here so listing needs no import.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "ecs": ("assistcli.cli.ecs:ecs", "Call a Cloud Assistant API action: ecs <Action> --P v."),
    "configure": ("assistcli.cli.configure:configure", "Manage profiles and credentials."),
    "controller": ("assistcli.cli.controller:controller", "Run and administer the controller."),
    "output": ("assistcli.cli.output:output", "Print runs' whole output; --follow it as it runs."),
    "quickstart": ("assistcli.cli.quickstart:quickstart", "Try it: local controller, first run."),
    "completion": ("assistcli.cli.completion:completion", "Print a shell completion script."),
    "help": ("assistcli.cli.helpcmd:help_command", "Show help for a command or an action."),
    "version": ("assistcli.cli.helpcmd:version", "Print the version of assistcli."),
}
PRODUCTS = ("ecs",)
SAMPLE = "assistcli ecs DescribeInvocations --InvokeId t-123 --output yaml"


class RootGroup(LazyGroup, SuggestingGroup):
    """Products are case-insensitive (ecs, Ecs, ECS); unknown words get suggestions."""

    unknown = "command or product"

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name.lower() in PRODUCTS:
            cmd_name = cmd_name.lower()
        return super().get_command(ctx, cmd_name)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            options, rest = split_globals(argv)
            result = super().main(
                rest,
                prog_name=prog_name or "assistcli",
                complete_var=complete_var,
                standalone_mode=False,
                obj=options,
                **extra,
            )
            code = result if isinstance(result, int) else ExitCode.OK
        except (Exception, KeyboardInterrupt) as error:
            code = report(error)
        if standalone_mode:
            sys.exit(code)
        return code

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Options, commands, then the global flags and a sample call."""
        click.Command.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)
        rows = [(_spelled(flag.spellings, flag.metavar), flag.help) for flag in GLOBAL_FLAGS]
        with formatter.section("Global flags (anywhere on the line)"):
            formatter.write_dl(rows)
        with formatter.section("Sample"):
            formatter.write_text(SAMPLE)


def _spelled(spellings: tuple[str, ...], metavar: str) -> str:
    return ", ".join(spellings) + (f" {metavar}" if metavar else "")


@click.group(
    cls=RootGroup,
    lazy=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="assist", prog_name="assistcli")
def main() -> None:
    """Run commands on a fleet of machines: a self-hosted, Alibaba Cloud Assistant-compatible
    controller, agent and CLI.

    Usage: assistcli <product> <Action> [--Parameter value ...]  (as `aliyun ecs ...`)
    """
