"""Global flags are accepted anywhere on the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistcli.cli.exits import CliError, ExitCode
from assistcli.cli.globals import GLOBAL_FLAGS, GlobalOptions, split_globals


def test_flags_are_lifted_from_anywhere() -> None:
    argv = ["--profile", "p", "ecs", "DescribeCommands", "-o", "yaml", "--Name", "x", "-q"]
    options, rest = split_globals(argv)
    assert rest == ["ecs", "DescribeCommands", "--Name", "x"]
    assert (options.profile, options.output, options.quiet) == ("p", ("yaml",), True)


def test_equals_form_aliases_and_short_names() -> None:
    options, rest = split_globals(["ecs", "X", "--region=cn-beijing", "--query", "A", "-p", "q"])
    assert rest == ["ecs", "X"]
    assert (options.region, options.cli_query, options.profile) == ("cn-beijing", "A", "q")


def test_field_flags_take_every_following_key_value_token() -> None:
    argv = ["ecs", "X", "--output", "cols=A,B", "rows=Items[]", "--waiter", "expr=S", "to=Done"]
    argv += ["--Name", "n", "--pager", "Commands.Command[]", "ecs"]
    options, rest = split_globals(argv)
    assert options.output == ("cols=A,B", "rows=Items[]")
    assert options.waiter == ("expr=S", "to=Done")
    assert options.pager == ("Commands.Command[]",)
    assert rest == ["ecs", "X", "--Name", "n", "ecs"]


def test_a_bare_pager_takes_nothing() -> None:
    options, rest = split_globals(["ecs", "DescribeCommands", "--pager", "--Name", "x"])
    assert options.pager == ()
    assert rest == ["ecs", "DescribeCommands", "--Name", "x"]


def test_controller_and_quickstart_keep_their_options() -> None:
    argv = ["-q", "controller", "start", "--quiet", "--profile", "x"]
    options, rest = split_globals(argv)
    assert options.quiet
    assert rest == ["controller", "start", "--quiet", "--profile", "x"]


def test_nothing_after_a_double_dash_is_lifted() -> None:
    options, rest = split_globals(["ecs", "X", "--", "--quiet"])
    assert not options.quiet and rest == ["ecs", "X", "--", "--quiet"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ecs", "X", "--profile"], "--profile needs a value"),
        (["--read-timeout", "soon"], "expects a number"),
        (["--retry-count", "-1"], "at least 0"),
    ],
)
def test_bad_flags_are_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(CliError, match=message) as caught:
        split_globals(argv)
    assert caught.value.code == ExitCode.USAGE


def test_numbers_are_converted() -> None:
    options, _ = split_globals(["--read-timeout", "2.5", "--retry-count", "3"])
    assert (options.read_timeout, options.retry_count) == (2.5, 3)


def test_the_repr_masks_the_secret() -> None:
    text = repr(GlobalOptions(access_key_secret="s3cr3t-value"))
    assert "s3cr3t" not in text and "***lue" in text


def test_every_global_flag_is_documented() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [s for flag in GLOBAL_FLAGS for s in flag.spellings if f"`{s}" not in guide]
    assert not missing, f"document in docs/cli.md: {missing}"
