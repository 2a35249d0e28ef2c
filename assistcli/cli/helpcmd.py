"""`assistcli help [command ...]` (as `aliyun help ecs CreateCommand`) and `assistcli version`."""

from __future__ import annotations

import click


@click.command("help")
@click.argument("words", nargs=-1)
@click.pass_context
def help_command(ctx: click.Context, words: tuple[str, ...]) -> None:
    """Show help for a command, a product or an action: help ecs CreateCommand."""
    root = ctx.find_root()
    command: click.Command = root.command
    current = root
    for word in words:
        if not isinstance(command, click.Group):
            break
        name, found, _ = command.resolve_command(current, [word])
        assert found is not None
        command = found
        current = click.Context(found, info_name=name, parent=current)
    click.echo(command.get_help(current))


@click.command()
def version() -> None:
    """Print the version of assistcli."""
    from importlib.metadata import version as installed

    click.echo(installed("assist"))
