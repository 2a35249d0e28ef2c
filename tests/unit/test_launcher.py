"""Launcher command lines: the script file placeholder, its extension, shell-style words."""

from __future__ import annotations

import pytest

from agentd.launcher import LauncherError, parse


def test_the_script_file_placeholder_is_replaced_in_its_word() -> None:
    launcher = parse('python3 -u {{ACS::ScriptFileName|Ext(".py")}} --flag')
    assert launcher.extension == ".py"
    assert launcher.argv("/tmp/my dir/t-1.py") == ["python3", "-u", "/tmp/my dir/t-1.py", "--flag"]


def test_quoting_and_spacing_are_shell_like() -> None:
    launcher = parse("""env 'A=b c' "{{ acs::scriptfilename | Ext( "rb" ) }}.orig" x\\ y""")
    assert launcher.extension == ".rb"
    assert launcher.argv("/s.rb") == ["env", "A=b c", "/s.rb.orig", "x y"]


def test_without_the_placeholder_the_script_file_comes_last() -> None:
    launcher = parse("bash -x")
    assert launcher.extension is None
    assert launcher.argv("/s.sh") == ["bash", "-x", "/s.sh"]


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "python3 'unclosed",
        "python3 {{ACS::InstanceId}}",
        'python3 {{ACS::ScriptFileName|Upper(".py")}}',
        'python3 {{ACS::ScriptFileName|Ext("../x")}}',
        'a {{ACS::ScriptFileName|Ext(".py")}} {{ACS::ScriptFileName|Ext(".rb")}}',
    ],
)
def test_what_cannot_be_run_is_refused(line: str) -> None:
    with pytest.raises(LauncherError):
        parse(line)
