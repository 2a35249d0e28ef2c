"""Start-up stays cheap: only click is imported for help, and no requests/rich for a call."""

from __future__ import annotations

import subprocess
import sys

from conftest import Controller

HEAVY = (
    "requests",
    "rich",
    "keyring",
    "jmespath",
    "yaml",
    "http.client",
    "socket",
    "assistcli.controller",
)

PROBE = """
import sys
from assistcli.cli import main

def run(*args):
    code = main.main(list(args), standalone_mode=False)
    assert code == 0, (args, code)
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r} or m in {heavy!r})
    assert not heavy, (args, heavy)

run("--help")
run("ecs", "InvokeCommand", "--help")
run("ecs", "DescribeCommands", "--dryrun", *{call!r})
run("ecs", "DescribeInvocations", "--PageSize", "1", *{call!r})
"""


def test_help_and_a_plain_call_import_nothing_heavy(controller: Controller) -> None:
    keys = f"--access-key-id {controller.access_key_id} --access-key-secret"
    call = [*f"--endpoint {controller.endpoint} {keys}".split(), controller.access_key_secret]
    script = PROBE.format(heavy=HEAVY, call=call)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
