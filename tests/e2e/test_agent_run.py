"""Running scripts through a real `agentd`: delivery, execution semantics, output and status.

DESIGN.md decisions 3 (lease, long-poll, pull; the poll is the heartbeat) and 4 (scripts run in
their own process group; timeout and stop kill the whole tree); reference §3 (the four status
vocabularies and ErrorCodes), §4 (execution semantics), §6.6/§6.7/§6.10 and §6.13.
Every test starts its own agent on the shared controller.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import (
    TERMINAL,
    expect_api_error,
    invocation,
    kill_group,
    pid_gone,
    read_pid,
    result,
    run_and_wait,
    run_script,
    system_user,
    wait_status,
)
from conftest import REGION, Controller, StartAgent, api, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def user() -> Iterator[Any]:
    with system_user() as entry:
        yield entry


def test_seed_flow_through_the_official_core_sdk(
    controller: Controller, start_agent: StartAgent, core_client: Any
) -> None:
    from aliyunsdkecs.request.v20140526.CreateCommandRequest import CreateCommandRequest
    from aliyunsdkecs.request.v20140526.DescribeInvocationResultsRequest import (
        DescribeInvocationResultsRequest,
    )
    from aliyunsdkecs.request.v20140526.InvokeCommandRequest import InvokeCommandRequest

    agent = start_agent(controller)
    create = CreateCommandRequest()
    create.set_Name("seed-echo")
    create.set_Type("RunShellScript")
    create.set_CommandContent("ZWNobyAxMjM=")
    command_id = json.loads(core_client.do_action_with_exception(create))["CommandId"]
    invoke = InvokeCommandRequest()
    invoke.set_CommandId(command_id)
    invoke.set_InstanceIds([agent.instance_id])
    invoke.set_Timed(False)
    invoke_id = json.loads(core_client.do_action_with_exception(invoke))["InvokeId"]

    def finished() -> dict[str, Any] | None:
        request = DescribeInvocationResultsRequest()
        request.set_InvokeId(invoke_id)
        body = json.loads(core_client.do_action_with_exception(request))
        [row] = body["Invocation"]["InvocationResults"]["InvocationResult"]
        return row if row["InvocationStatus"] in TERMINAL else None

    row = wait_for(finished, 15, "the seed command to finish")
    assert (row["Output"], row["ExitCode"], row["InvocationStatus"]) == ("MTIzCg==", 0, "Success")


def test_queued_work_is_delivered_at_once_and_the_poll_is_the_heartbeat(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    began = time.monotonic()
    invoke_id = run_script(controller, agent.instance_id, "echo hello")
    row = wait_status(controller, invoke_id, timeout=10)
    assert time.monotonic() - began < 2.0, "a waiting agent must get its work at once"
    assert (row["InvocationStatus"], row["Output"], row["ExitCode"]) == ("Success", "hello\n", 0)
    # All four vocabularies agree on a success (reference §3.1, §3.4, §3.5).
    assert row["InvokeRecordStatus"] == "Finished"
    task = invocation(controller, invoke_id)
    assert task["InvocationStatus"] == "Success"
    assert task["InvokeStatus"] == "Finished"
    [instance] = task["InvokeInstances"]["InvokeInstance"]
    assert (instance["InvocationStatus"], instance["InstanceInvokeStatus"]) == (
        "Success",
        "Finished",
    )
    assert row["StartTime"] and row["FinishedTime"] and row["FinishedTime"] >= row["StartTime"]

    status = api(controller).call(
        "DescribeCloudAssistantStatus", {"InstanceId": [agent.instance_id]}
    )
    [seen] = status["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"]
    assert seen["InstanceId"] == agent.instance_id
    assert seen["CloudAssistantStatus"] == "true"
    assert seen["LastHeartbeatTime"] and seen["CloudAssistantVersion"]
    assert seen["OSType"] == "Linux"
    assert seen["InvocationCount"] == 1
    managed = api(controller).call("DescribeManagedInstances", {"InstanceId": [agent.instance_id]})
    [info] = managed["Instances"]
    assert info["Connected"] is True
    assert info["AgentVersion"] == seen["CloudAssistantVersion"]
    assert info["Hostname"] == socket.gethostname()
    assert info["InvocationCount"] == 1


def test_shell_scripts_run_with_sh_and_honour_a_shebang(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    shell = run_and_wait(controller, agent.instance_id, 'readlink -f "/proc/$$/exe"')
    assert shell["InvocationStatus"] == "Success", shell["Output"]
    assert shell["Output"].strip() == os.path.realpath("/bin/sh")
    python = run_and_wait(
        controller,
        agent.instance_id,
        "#!/usr/bin/env python3\nimport sys\nprint('py', sys.version_info[0])\n",
    )
    assert (python["InvocationStatus"], python["Output"]) == ("Success", "py 3\n"), python[
        "ErrorCode"
    ]


@pytest.mark.skipif(
    bool(shutil.which("pwsh") or shutil.which("powershell")), reason="PowerShell is installed"
)
def test_powershell_without_powershell_is_not_applicable(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    row = run_and_wait(controller, agent.instance_id, "Write-Output hi", Type="RunPowerShellScript")
    assert (row["InvocationStatus"], row["ErrorCode"]) == ("Invalid", "CommandNotApplicable")


def test_working_dir(controller: Controller, start_agent: StartAgent, tmp_path: Path) -> None:
    agent = start_agent(controller)
    here = run_and_wait(controller, agent.instance_id, "pwd", WorkingDir=str(tmp_path))
    assert (here["InvocationStatus"], here["Output"]) == ("Success", f"{tmp_path}\n")
    missing = run_and_wait(
        controller, agent.instance_id, "pwd", WorkingDir=str(tmp_path / "missing")
    )
    assert (missing["InvocationStatus"], missing["ErrorCode"]) == ("Invalid", "DirectoryNotExists")


def test_username_runs_as_that_user_with_its_environment(
    controller: Controller, start_agent: StartAgent, user: Any
) -> None:
    agent = start_agent(controller, env={"ASSIST_TEST_LEAK": "agent-only"})
    row = run_and_wait(
        controller,
        agent.instance_id,
        'id -un; echo "$HOME|$USER|${ASSIST_TEST_LEAK:-unset}"; pwd',
        Username=user.pw_name,
    )
    assert row["InvocationStatus"] == "Success", (row["ErrorCode"], row["Output"])
    assert row["Output"] == f"{user.pw_name}\n{user.pw_dir}|{user.pw_name}|unset\n{user.pw_dir}\n"
    assert row["Username"] == user.pw_name
    unknown = run_and_wait(controller, agent.instance_id, "id -un", Username="no-such-user-x")
    assert (unknown["InvocationStatus"], unknown["ErrorCode"]) == ("Invalid", "AccountNotExists")


def test_default_account_environment(controller: Controller, start_agent: StartAgent) -> None:
    import pwd

    me = pwd.getpwuid(os.geteuid())
    agent = start_agent(controller)
    row = run_and_wait(controller, agent.instance_id, 'echo "$HOME|$USER"; id -un')
    assert row["Output"] == f"{me.pw_dir}|{me.pw_name}\n{me.pw_name}\n", row


def test_parameters_and_built_in_parameters(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller, name="params-host")
    script = (
        "echo '{{greeting}}'\n"
        "echo '{{ACS::InstanceId}}'\n"
        "echo '{{ACS::InstanceName}}'\n"
        "echo '{{ACS::InvokeId}}'\n"
        "echo '{{ACS::CommandId}}'\n"
        "echo '{{ACS::RegionId}}'\n"
    )
    body = api(controller).call(
        "RunCommand",
        {
            "InstanceId": [agent.instance_id],
            "Type": "RunShellScript",
            "CommandContent": script,
            "EnableParameter": True,
            "Parameters": {"greeting": "hello world"},
        },
    )
    row = wait_status(controller, body["InvokeId"])
    assert row["InvocationStatus"] == "Success", (row["ErrorCode"], row["Output"])
    assert row["Output"].splitlines() == [
        "hello world",
        agent.instance_id,
        "params-host",
        body["InvokeId"],
        body["CommandId"],
        REGION,
    ]


def test_a_script_that_is_not_utf8_reaches_the_agent_byte_for_byte(
    controller: Controller, start_agent: StartAgent
) -> None:
    """Only the placeholders change (to UTF-8 values): a GBK or binary script is not re-encoded."""
    agent = start_agent(controller)
    script = "# 你好\n".encode("gbk") + b"# \xff\xfe\x80\r\n"
    script += b"echo '{{greeting}}' {{ACS::InstanceId}}\n" + b'cat "$0"\n'
    body = api(controller).call(
        "RunCommand",
        {
            "InstanceId": [agent.instance_id],
            "Type": "RunShellScript",
            "CommandContent": base64.b64encode(script).decode(),
            "ContentEncoding": "Base64",
            "EnableParameter": True,
            "Parameters": {"greeting": "héllo"},
        },
    )
    row = wait_status(controller, body["InvokeId"], encoding="Base64")
    assert row["InvocationStatus"] == "Success", row["ErrorCode"]
    greeting, instance = "héllo".encode(), agent.instance_id.encode()
    ran = script.replace(b"{{greeting}}", greeting).replace(b"{{ACS::InstanceId}}", instance)
    assert base64.b64decode(row["Output"]) == greeting + b" " + instance + b"\n" + ran


def test_launcher_runs_the_script_file_with_its_extension(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    script = "import os, sys\nprint(os.path.splitext(sys.argv[0])[1], sys.argv[1:], 2 ** 10)\n"
    launched = run_and_wait(
        controller,
        agent.instance_id,
        script,
        Launcher='python3 -u {{ACS::ScriptFileName|Ext(".py")}} "two words" {{ACS::InstanceId}}',
    )
    assert launched["InvocationStatus"] == "Success", (launched["ErrorCode"], launched["Output"])
    assert launched["Output"] == f".py ['two words', '{agent.instance_id}'] 1024\n"
    assert invocation(controller, launched["InvokeId"])["Launcher"].startswith("python3 -u")

    command = api(controller).call(
        "CreateCommand",
        {
            "Name": "launched",
            "Type": "RunShellScript",
            "CommandContent": base64.b64encode(script.encode()).decode(),
            "Launcher": "python3",  # the script file comes last
        },
    )
    invoked = api(controller).call(
        "InvokeCommand", {"CommandId": command["CommandId"], "InstanceId": [agent.instance_id]}
    )
    stored = wait_status(controller, invoked["InvokeId"])
    assert (stored["InvocationStatus"], stored["Output"]) == ("Success", ".sh [] 1024\n")

    refused = run_and_wait(controller, agent.instance_id, script, Launcher="python3 {{ACS::Nope}}")
    assert (refused["InvocationStatus"], refused["ErrorCode"]) == ("Invalid", "InvalidLauncher")
    assert "ACS::Nope" in refused["ErrorInfo"]


def test_exit_code_and_combined_output(controller: Controller, start_agent: StartAgent) -> None:
    agent = start_agent(controller)
    row = run_and_wait(controller, agent.instance_id, "echo out; echo err >&2; echo out2; exit 3")
    assert (row["InvocationStatus"], row["ExitCode"], row["ErrorCode"]) == (
        "Failed",
        3,
        "ExitCodeNonzero",
    )
    assert row["Output"] == "out\nerr\nout2\n"
    assert row["InvokeRecordStatus"] == "Finished"  # the script ran: legacy "Finished" (§3.4)
    assert row["FinishedTime"] >= row["StartTime"] != ""


def test_output_streams_while_the_script_runs(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    invoke_id = run_script(controller, agent.instance_id, "echo first; sleep 4; echo second")

    def partial() -> dict[str, Any] | None:
        row = result(controller, invoke_id)
        return row if row["InvocationStatus"] == "Running" and "first" in row["Output"] else None

    row = wait_for(partial, 3.5, "'first' while the script still runs")
    assert row["Output"] == "first\n"
    final = wait_status(controller, invoke_id)
    assert (final["InvocationStatus"], final["Output"]) == ("Success", "first\nsecond\n")


def test_tasks_run_concurrently(controller: Controller, start_agent: StartAgent) -> None:
    agent = start_agent(controller)
    began = time.monotonic()
    invoke_ids = [run_script(controller, agent.instance_id, "sleep 2") for _ in range(4)]
    for invoke_id in invoke_ids:
        assert wait_status(controller, invoke_id, timeout=10)["InvocationStatus"] == "Success"
    assert time.monotonic() - began < 3.5, "four 2-second tasks must run side by side"


def test_max_concurrency_one_runs_tasks_one_after_another(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller, "--max-concurrency", "1")
    trace = tmp_path / "trace"
    script = (
        f'echo "start $(date +%s.%N)" >> {trace}; sleep 1; echo "end $(date +%s.%N)" >> {trace}'
    )
    invoke_ids = [run_script(controller, agent.instance_id, script) for _ in range(2)]
    for invoke_id in invoke_ids:
        assert wait_status(controller, invoke_id, timeout=10)["InvocationStatus"] == "Success"
    events = [line.split() for line in trace.read_text().splitlines()]
    assert [kind for kind, _ in events] == ["start", "end", "start", "end"], events
    assert float(events[2][1]) >= float(events[1][1])


# A script with a grandchild in its session and one that left it (`setsid`), writing their pids.
ESCAPING_TREE = (
    "sleep 300 & echo $! > {dir}/grandchild.pid\n"
    "setsid sleep 600 & echo $! > {dir}/setsid.pid\n"
    "sleep 300"
)


def tree_pids(folder: Path) -> list[int]:
    return [read_pid(folder / "grandchild.pid"), read_pid(folder / "setsid.pid")]


def test_timeout_kills_the_whole_process_tree(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)
    expect_api_error(
        "InvalidTimeout.ExceedLimit",
        "RunCommand",
        controller,
        {
            "InstanceId": [agent.instance_id],
            "Type": "RunShellScript",
            "CommandContent": "id",
            "Timeout": 9,
        },
    )
    invoke_id = run_script(
        controller,
        agent.instance_id,
        ESCAPING_TREE.format(dir=tmp_path),
        Timeout=10,  # the smallest the API takes
    )
    tree = tree_pids(tmp_path)
    try:
        row = wait_status(controller, invoke_id, timeout=25)
        assert (row["InvocationStatus"], row["ErrorCode"]) == ("Timeout", "ExecutionTimeout")
        assert row["InvokeRecordStatus"] == "Failed"
        wait_for(lambda: all(map(pid_gone, tree)), 5, f"{tree} to be killed")
    finally:
        for pid in tree:
            kill_group(pid)


def test_stop_invocation_terminates_a_running_tree(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)
    invoke_id = run_script(controller, agent.instance_id, ESCAPING_TREE.format(dir=tmp_path))
    tree = tree_pids(tmp_path)
    try:
        wait_status(controller, invoke_id, {"Running"}, timeout=5)
        api(controller).call("StopInvocation", {"InvokeId": invoke_id})
        row = wait_status(controller, invoke_id, timeout=10)
        assert row["InvocationStatus"] == "Terminated", (row["ErrorCode"], row["Output"])
        assert row["InvokeRecordStatus"] == "Stopped"
        wait_for(lambda: all(map(pid_gone, tree)), 5, f"{tree} to be killed")
    finally:
        for pid in tree:
            kill_group(pid)


def test_stop_invocation_before_the_task_started_cancels_it(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    assert agent.stop() == 0
    invoke_id = run_script(controller, agent.instance_id, "echo never")
    assert result(controller, invoke_id)["InvocationStatus"] == "Pending"
    api(controller).call("StopInvocation", {"InvokeId": invoke_id})
    row = wait_status(controller, invoke_id, timeout=5)
    assert (row["InvocationStatus"], row["Output"]) == ("Cancelled", "")
    assert row["InvokeRecordStatus"] == "Stopped"
    agent.start()  # the stopped task is not delivered any more
    assert result(controller, invoke_id)["InvocationStatus"] == "Cancelled"
    after = run_and_wait(controller, agent.instance_id, "echo next")
    assert after["Output"] == "next\n"
    assert result(controller, invoke_id)["InvocationStatus"] == "Cancelled"
