"""Reading and following runs' output with real agents: `assistcli output [--follow]`, `--watch`
on the actions that start runs, and the signed stream under them (GET /assist/v1/output)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from agent_helpers import run_script, wait_status
from conftest import Controller, StartAgent, StartController, api, wait_for
from test_agent_output import LONG_OUTPUT, LONG_SCRIPT
from test_cli_support import Cli, profile_for

from assistcli.api.agent import OUTPUT_HEAD
from assistcli.api.outputstream import PATH
from assistcli.config import Settings
from assistcli.streamclient import stream_url

pytest_plugins = ["test_cli_support"]  # the cli and cli_on fixtures
pytestmark = pytest.mark.e2e


def assistcli(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistcli", *args]


def output(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(assistcli(*args), capture_output=True, timeout=60, check=False)


def test_output_prints_a_long_run_whole_as_it_was_written(
    cli_on: Cli, controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    invoke_id = run_script(controller, agent.instance_id, LONG_SCRIPT)
    wait_status(controller, invoke_id)
    done = output("output", invoke_id)
    assert done.stdout == LONG_OUTPUT, done.stderr  # not only the 24 KB a record shows
    assert done.returncode == 10, "the script exited 100: Failed"


def test_follow_prints_lines_as_they_come_and_exits_with_how_the_run_ended(
    cli_on: Cli, controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)
    gate = tmp_path / "gate"
    script = f"echo one; while [ ! -e {gate} ]; do sleep 0.05; done; printf two; exit 3"
    invoke_id = run_script(controller, agent.instance_id, script)
    follower = subprocess.Popen(assistcli("output", invoke_id, "--follow"), stdout=subprocess.PIPE)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == b"one\n"  # while the script still runs
        assert follower.poll() is None
        gate.touch()
        assert follower.wait(timeout=15) == 10
        assert follower.stdout.read() == b"two"  # raw: no newline added to one instance's
    finally:
        follower.kill()


def test_several_instances_each_line_prefixed_with_its_instance(
    cli_on: Cli, controller: Controller, start_agent: StartAgent
) -> None:
    first, second = start_agent(controller), start_agent(controller)
    invoke_id = api(controller).call(
        "RunCommand",
        {
            "InstanceId": [first.instance_id, second.instance_id],
            "Type": "RunShellScript",
            "CommandContent": "echo a; printf 'b\\nc'",
            "ContentEncoding": "PlainText",
        },
    )["InvokeId"]
    done = output("output", invoke_id, "--follow")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    for agent in (first, second):
        mine = [line for line in lines if line.startswith(f"{agent.instance_id}: ")]
        assert mine == [f"{agent.instance_id}: {text}" for text in ("a", "b", "c")]
    only = output("output", invoke_id, "--instance", second.instance_id)
    assert (only.returncode, only.stdout) == (0, b"a\nb\nc")


@pytest.mark.parametrize(
    ("script", "params", "code"),
    [
        ("exit 0", {}, 0),
        ("exit 3", {}, 10),
        ("echo never", {"Username": "no-such-user-xyz"}, 13),
    ],
    ids=["success", "failed", "invalid"],
)
def test_the_exit_code_says_how_the_run_ended(
    cli_on: Cli,
    controller: Controller,
    start_agent: StartAgent,
    script: str,
    params: dict[str, str],
    code: int,
) -> None:
    agent = start_agent(controller)
    invoke_id = run_script(controller, agent.instance_id, script, **params)
    assert output("output", invoke_id, "--follow").returncode == code


def test_a_stopped_run_and_one_still_running(
    cli_on: Cli, controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    invoke_id = run_script(controller, agent.instance_id, "echo started; sleep 300")
    wait_for(lambda: output("output", invoke_id).stdout == b"started\n", 10, "the first line")
    assert output("output", invoke_id).returncode == 14, "without --follow: still running"
    follower = subprocess.Popen(assistcli("output", invoke_id, "-f"), stdout=subprocess.PIPE)
    try:
        assert follower.stdout is not None and follower.stdout.readline() == b"started\n"
        api(controller).call("StopInvocation", {"InvokeId": invoke_id})
        assert follower.wait(timeout=15) == 12
    finally:
        follower.kill()


def test_watch_follows_the_invocation_just_made_and_sums_it_up(
    cli_on: Cli, controller: Controller, start_agent: StartAgent
) -> None:
    good, bad = start_agent(controller), start_agent(controller)
    script = f"echo hi; [ {{{{ACS::InstanceId}}}} = {good.instance_id} ]"
    args = ["ecs", "RunCommand", "--Type", "RunShellScript", "--ContentEncoding", "PlainText"]
    args += ["--CommandContent", script, "--InstanceId", good.instance_id, bad.instance_id]
    done = output(*args, "--watch")
    assert done.returncode == 10, done.stderr
    text = done.stdout.decode()
    invoke_id = json.loads(text[: text.index("}") + 1])["InvokeId"]  # the response first
    assert f"{good.instance_id}: hi" in text and f"{bad.instance_id}: hi" in text
    table = text[text.rindex("InstanceId") :]  # the summary at the end
    assert "InvocationStatus" in table and "ExitCode" in table
    assert sorted(line.split()[:3] for line in table.splitlines()[1:]) == sorted(
        [[good.instance_id, "Success", "0"], [bad.instance_id, "Failed", "1"]]
    )
    again = output("ecs", "DescribeInvocations", "--InvokeId", invoke_id, "--watch")
    assert again.returncode == 10 and f"{good.instance_id}: hi" in again.stdout.decode()


def test_watch_draws_a_progress_line_on_a_terminal(
    cli_on: Cli, controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    args = ["ecs", "RunCommand", "--Type", "RunShellScript", "--ContentEncoding", "PlainText"]
    args += ["--CommandContent", "sleep 1; echo done", "--InstanceId.1", agent.instance_id]
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            assistcli(*args, "--watch"), stdout=subprocess.PIPE, stderr=secondary
        )
        os.close(secondary)
        terminal = re.sub(rb"\x1b\[[0-9;]*m", b"", read_until_exit(primary, process))
    finally:
        os.close(primary)
    assert process.returncode == 0
    assert b"0 of 1 ended, 1 running, 0 waiting" in terminal
    assert b"1 of 1 ended, 0 running, 0 waiting" in terminal
    assert process.stdout is not None and b"done\n" in process.stdout.read()


def read_until_exit(primary: int, process: subprocess.Popen[bytes]) -> bytes:
    seen, deadline = b"", time.monotonic() + 30
    while time.monotonic() < deadline:
        if select.select([primary], [], [], 0.1)[0]:
            try:
                seen += os.read(primary, 4096)
            except OSError:  # every writer closed it
                break
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    return seen


def test_watch_refuses_what_it_cannot_follow(cli_on: Cli) -> None:
    done = output("ecs", "DescribeCommands", "--watch")
    assert done.returncode == 2 and b"--watch follows an invocation" in done.stderr
    done = output("ecs", "DescribeInvocations", "--watch")
    assert done.returncode == 2 and b"without --InvokeId" in done.stderr


@pytest.fixture(scope="module")
def capped(start_controller: StartController) -> Iterator[Controller]:
    controller = start_controller("--output-cap", "40KiB")
    yield controller
    controller.kill()


def test_output_beyond_the_cap_is_noted_and_the_tail_still_printed(
    cli: Cli, capped: Controller, start_agent: StartAgent
) -> None:
    cli.save_profile(profile_for(capped))
    agent = start_agent(capped)
    invoke_id = run_script(capped, agent.instance_id, LONG_SCRIPT)
    wait_status(capped, invoke_id)
    done = output("output", invoke_id)
    assert done.stdout == LONG_OUTPUT[: 40 * 1024] + LONG_OUTPUT[-OUTPUT_HEAD:]
    gap = len(LONG_OUTPUT) - 40 * 1024 - OUTPUT_HEAD
    assert f"{agent.instance_id}: {gap} bytes of output were not kept" in done.stderr.decode()


def settings(ctl: Controller, secret: str | None = None) -> Settings:
    return Settings(
        endpoint=ctl.url,
        access_key_id=ctl.access_key_id,
        access_key_secret=secret or ctl.access_key_secret,
        region_id="cn-hangzhou",
        read_timeout=10,
        connect_timeout=5,
        retry_count=0,
        source="test",
    )


def test_the_stream_is_signed_and_apart_from_the_api(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    invoke_id = run_script(controller, agent.instance_id, "echo hi")
    wait_status(controller, invoke_id)
    url = stream_url(settings(controller), invoke_id, [], 0, False)
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200
    assert answer.content.startswith(f'I ["{agent.instance_id}"]\n'.encode())
    replayed = requests.get(url, timeout=10)  # the same nonce
    assert replayed.json()["Code"] == "SignatureNonceUsed"
    forged = stream_url(settings(controller, secret="wrong"), invoke_id, [], 0, False)
    assert requests.get(forged, timeout=10).json()["Code"] == "SignatureDoesNotMatch"
    unsigned = requests.get(f"{controller.url.rstrip('/')}{PATH}?InvokeId={invoke_id}", timeout=10)
    assert (unsigned.status_code, unsigned.json()["Code"]) == (400, "MissingParameter")
    # The API at / knows nothing of it: the official SDKs never meet it.
    with pytest.raises(Exception, match=r"InvalidAction\.NotFound|unknown action"):
        api(controller).call("StreamInvocationOutput", {"InvokeId": invoke_id})
