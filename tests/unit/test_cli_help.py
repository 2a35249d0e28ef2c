"""Help is generated from the action table and the global flag table."""

from __future__ import annotations

from click.testing import CliRunner, Result

from assistcli.api.actions import ACTIONS
from assistcli.cli import main


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.stderr
    return result


def test_root_help_lists_commands_and_global_flags() -> None:
    text = run("--help").stdout
    for word in ("ecs", "configure", "controller", "completion", "--profile, -p NAME", "--waiter"):
        assert word in text
    assert run().stdout == text  # bare `assistcli`, as the aliyun CLI, prints the help


def test_product_help_lists_every_action() -> None:
    text = run("ecs").stdout
    assert "Available Api List:" in text
    assert all(action.name in text for action in ACTIONS)
    assert run("Ecs", "--help").stdout == text


def test_action_help_shows_required_first_types_and_choices() -> None:
    text = run("ecs", "InvokeCommand", "--help").stdout
    flat = " ".join(text.split())  # help wraps lines at the terminal's width
    required, optional = flat.split("Required parameters:")[1].split("Parameters:")
    assert "--CommandId" in required and "--InstanceId.n" in optional
    assert "RepeatList. Target instances" in optional
    assert "One of: Once, Period, NextRebootOnly, EveryReboot, DryRun." in optional
    assert run("help", "ecs", "InvokeCommand").stdout == text


def test_version() -> None:
    assert run("version").stdout.strip() == run("--version").stdout.split()[-1]
