"""Exit codes and the one place where an error becomes a message on stderr.

Codes 0-3 are the aliyun CLI's; 4-6 split its catch-all 1 into causes a script can test for.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from assistcli.errors import ApiError

TIP_DEBUG = "Set ASSIST_DEBUG=1 to see the traceback."


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1  # the API answered with an error; anything else unexpected
    USAGE = 2  # unknown command, action, parameter or flag; a malformed value
    MISSING = 3  # a required parameter is missing
    CONFIG = 4  # no usable profile or credentials
    UNREACHABLE = 5  # no controller answered (or not like one)
    TIMEOUT = 6  # --waiter gave up
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # the reader of stdout went away (`| head`)


class CliError(Exception):
    """An error the CLI reports as `ERROR: message`, with optional suggestions and a tip."""

    def __init__(
        self,
        message: str,
        *,
        code: ExitCode = ExitCode.ERROR,
        suggestions: Sequence[str] = (),
        tip: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.suggestions = tuple(suggestions)
        self.tip = tip


def usage(message: str, *, suggestions: Sequence[str] = (), tip: str = "") -> CliError:
    return CliError(message, code=ExitCode.USAGE, suggestions=suggestions, tip=tip)


def suggest(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Close spellings of `word`: a case-insensitive match first, then difflib's best guesses."""
    import difflib

    pool = list(dict.fromkeys(candidates))
    exact = [c for c in pool if c.lower() == word.lower()]
    close = difflib.get_close_matches(word, pool, n=limit, cutoff=0.6)
    return list(dict.fromkeys(exact + close))[:limit]


def use_color(stream: object) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def error_lines(message: str) -> None:
    """`ERROR: ...` on stderr, bold red on a terminal."""
    head, _, rest = message.partition("\n")
    text = f"ERROR: {head}"
    if use_color(sys.stderr):
        text = click.style(text, fg="red", bold=True)
    click.echo(text + (f"\n{rest}" if rest else ""), err=True)


def report_cli_error(error: CliError) -> int:
    error_lines(error.message)
    if error.suggestions:
        click.echo("\nDid you mean:", err=True)
        for suggestion in error.suggestions:
            click.echo(f"  {suggestion}", err=True)
    if error.tip:
        click.echo(error.tip, err=True)
    return int(error.code)


def report(error: BaseException) -> int:
    """Print `error` the aliyun CLI's way and return the exit code; never a traceback."""
    if isinstance(error, CliError):
        return report_cli_error(error)
    if isinstance(error, click.exceptions.Exit):
        return error.exit_code
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        click.echo(error.ctx.get_help())
        return ExitCode.OK
    if isinstance(error, click.UsageError):
        return _report_usage(error)
    if isinstance(error, click.ClickException):
        return report_cli_error(CliError(error.format_message()))
    if isinstance(error, (KeyboardInterrupt, click.Abort)):
        click.echo("Aborted.", err=True)
        return ExitCode.INTERRUPTED
    if isinstance(error, BrokenPipeError):
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    return _report_runtime(error)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit does not fail a second time."""
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _report_usage(error: click.UsageError) -> int:
    tip = ""
    if error.ctx is not None:
        tip = f"See `{error.ctx.command_path} --help`."
    if isinstance(error, click.NoSuchOption):
        suggestions = _option_suggestions(error.option_name, error.ctx)
        return report_cli_error(usage(error.message, suggestions=suggestions, tip=tip))
    return report_cli_error(usage(error.format_message(), tip=tip))


def _option_suggestions(name: str, ctx: click.Context | None) -> list[str]:
    """Close spellings among the command's own options and, where they apply, the global
    flags: click knows only the former, since the latter are lifted out of argv before it."""
    from assistcli.cli.globals import LONG_SPELLINGS, applies_to

    if ctx is None:
        return suggest(name, LONG_SPELLINGS)
    own = [opt for param in ctx.command.get_params(ctx) for opt in param.opts]
    return suggest(name, own + list(LONG_SPELLINGS if applies_to(ctx.command_path) else ()))


def _report_runtime(error: BaseException) -> int:
    from assistcli.client import TransportError
    from assistcli.config import ConfigError
    from assistcli.errors import ApiError
    from assistcli.output import OutputError

    if isinstance(error, OutputError):
        return report_cli_error(usage(str(error)))
    if isinstance(error, ApiError):
        return _report_api_error(error)
    if isinstance(error, TransportError):
        return report_cli_error(CliError(str(error), code=ExitCode.UNREACHABLE, tip=error.tip))
    if isinstance(error, ConfigError):
        return report_cli_error(CliError(str(error), code=ExitCode.CONFIG, tip=error.tip))
    if os.environ.get("ASSIST_DEBUG"):
        raise error
    if isinstance(error, OSError):
        return report_cli_error(CliError(str(error)))
    kind = type(error).__name__
    return report_cli_error(CliError(f"unexpected {kind}: {error}", tip=TIP_DEBUG))


def _report_api_error(error: ApiError) -> int:
    """The aliyun CLI's `SDK.ServerError` block."""
    lines = ["SDK.ServerError", f"ErrorCode: {error.code}"]
    recommend = getattr(error, "recommend", "")
    if recommend:
        lines.append(f"Recommend: {recommend}")
    lines += [f"RequestId: {error.request_id}", f"Message: {error.message}"]
    error_lines("\n".join(lines))
    tip = getattr(error, "tip", "")
    if tip:
        click.echo(tip, err=True)
    return ExitCode.ERROR


class SuggestingGroup(click.Group):
    """A group that answers an unknown subcommand with a usage error and "did you mean"."""

    unknown = "command"  # what an unknown subcommand is called in the message

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        command = self.get_command(ctx, name)
        if command is None:
            raise usage(
                f"'{name}' is not a valid {self.unknown}. See `{ctx.command_path} --help`.",
                suggestions=suggest(name, self.list_commands(ctx)),
            )
        return command.name, command, args[1:]
