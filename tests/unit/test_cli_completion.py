"""Shell completions are generated from the command tree and the action table, and fresh."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistcli.cli import main
from assistcli.cli.completion import SHELLS, build_tree, render

COMPLETIONS = Path(__file__).parents[2] / "completions"


@pytest.fixture(scope="module")
def scripts() -> dict[str, str]:
    tree = build_tree()
    return {shell: render(shell, tree) for shell in SHELLS}


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_the_shipped_scripts_are_fresh(shell: str, scripts: dict[str, str]) -> None:
    shipped = (COMPLETIONS / SHELLS[shell]).read_text(encoding="utf-8")
    assert shipped == scripts[shell], "run `make completions`"


def test_the_completion_command_prints_a_script(scripts: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["completion", "zsh"])
    assert result.exit_code == 0 and result.stdout == scripts["zsh"]


BASH_CASES = [
    ("assistcli ''", "ecs configure controller"),
    ("assistcli ecs Inv", "InvokeCommand"),
    ("assistcli ecs InvokeCommand --Inst", "--InstanceId.1"),
    ("assistcli ecs InvokeCommand --CommandId c-1 --RepeatMode ''", "Once Period"),
    ("assistcli ecs CreateCommand --EnableParameter ''", "true false"),
    ("assistcli ecs DescribeCommands --pro", "--profile"),
    ("assistcli --profile p ecs DescribeC", "DescribeCommands"),
    ("assistcli -o ''", "json yaml text table"),
    ("assistcli controller st", "start stop status"),
    ("assistcli controller start --", "--listen --data-dir --help"),
    ("assistcli configure s", "set switch"),
]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(("line", "expected"), BASH_CASES)
def test_bash_completes(line: str, expected: str) -> None:
    script = f"""
source {COMPLETIONS / "assistcli.bash"}
COMP_WORDS=({line}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_assistcli; echo "${{COMPREPLY[*]}}"
"""
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().startswith(expected), done.stdout


@pytest.mark.skipif(shutil.which("zsh") is None, reason="needs zsh")
def test_zsh_parses_and_completes() -> None:
    script = f"""
autoload -U compinit && compinit -u
source {COMPLETIONS / "assistcli.zsh"}
setopt sh_word_split
_assistcli_candidates 'ecs InvokeCommand --RepeatMode' ''
"""
    done = subprocess.run(["zsh", "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["Once", "Period", "NextRebootOnly", "EveryReboot", "DryRun"]


@pytest.mark.skipif(shutil.which("fish") is None, reason="needs fish")
def test_fish_completes() -> None:
    script = (
        f"source {COMPLETIONS / 'assistcli.fish'}; complete -C 'assistcli ecs InvokeCommand --Rep'"
    )
    done = subprocess.run(["fish", "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["--RepeatMode"], done.stderr
