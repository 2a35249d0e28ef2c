"""Activations, `agentd register`, managed instances, and what a registered agent may see.

Reference §6.13 and §6.17-§6.21 (fields, plain arrays ActivationList[] / Instances[], limits,
default instance names zero-padded to the digits of InstanceCount); DESIGN.md decision 8 (a
per-instance secret issued at registration, stored 0600; an agent only ever sees its own work).
"""

from __future__ import annotations

import dataclasses
import socket
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import (
    agent_post,
    expect_api_error,
    forged_report,
    pid_gone,
    read_pid,
    read_secret,
    result,
    run_and_wait,
    run_script,
    wait_status,
)
from conftest import (
    Agent,
    Controller,
    StartAgent,
    api,
    create_activation,
    free_port,
    register,
    wait_for,
)

from assistcli.api import agent as proto

pytestmark = pytest.mark.e2e


def activation_row(ctl: Controller, activation_id: str) -> dict[str, Any]:
    body = api(ctl).call("DescribeActivations", {"ActivationId": activation_id})
    assert isinstance(body["ActivationList"], list)  # a plain array, no wrapper
    [row] = body["ActivationList"]
    return dict(row)


def managed(ctl: Controller, instance_id: str) -> dict[str, Any] | None:
    body = api(ctl).call("DescribeManagedInstances", {"InstanceId": [instance_id]})
    assert isinstance(body["Instances"], list)  # a plain array, no wrapper
    return body["Instances"][0] if body["Instances"] else None


def test_create_and_describe_an_activation(controller: Controller) -> None:
    activation_id, code = create_activation(
        controller,
        InstanceName="web",
        Description="e2e activation",
        InstanceCount=5,
        TimeToLiveInHours=2,
        IpAddressRange="127.0.0.0/8",
    )
    assert activation_id and len(code) >= 16
    row = activation_row(controller, activation_id)
    assert row["ActivationId"] == activation_id
    assert row["Description"] == "e2e activation"
    assert row["InstanceName"] == "web"
    assert (row["InstanceCount"], row["RegisteredCount"], row["DeregisteredCount"]) == (5, 0, 0)
    assert row["TimeToLiveInHours"] == 2
    assert row["IpAddressRange"] == "127.0.0.0/8"
    assert row["CreationTime"]
    assert row["Disabled"] is False
    assert isinstance(row["Tags"], list)
    assert "ActivationCode" not in row  # the code is shown once, at creation
    defaults = activation_row(controller, create_activation(controller)[0])
    assert (defaults["InstanceCount"], defaults["TimeToLiveInHours"]) == (10, 4)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"InstanceCount": 0}, "InvalidParameter.InstanceCount"),
        ({"InstanceCount": 1001}, "InvalidParameter.InstanceCount"),
        ({"TimeToLiveInHours": 0}, "InvalidParameter.TimeToLiveInHours"),
        ({"TimeToLiveInHours": 5}, "InvalidParameter.TimeToLiveInHours"),
        ({"InstanceName": "1starts-with-a-digit"}, "InvalidParameter.InstanceName"),
        ({"IpAddressRange": "not-an-address"}, "InvalidParameter.IpAddressRange"),
    ],
)
def test_create_activation_limits(
    controller: Controller, params: dict[str, Any], code: str
) -> None:
    expect_api_error(code, "CreateActivation", controller, params)


def test_create_activation_limits_are_inclusive(controller: Controller) -> None:
    for count, hours in ((1, 1), (1000, 4)):
        activation_id, _ = create_activation(
            controller, InstanceCount=count, TimeToLiveInHours=hours
        )
        row = activation_row(controller, activation_id)
        assert (row["InstanceCount"], row["TimeToLiveInHours"]) == (count, hours)


def test_register_prints_the_instance_id_and_keeps_the_secret_private(
    controller: Controller, tmp_path: Path
) -> None:
    activation_id, code = create_activation(controller, InstanceName="web", InstanceCount=5)
    done = register(controller, activation_id, code, tmp_path / "state")
    assert done.returncode == 0, done.stderr
    instance_id = done.stdout.strip()
    assert instance_id.startswith("mi-")
    secret_file = tmp_path / "state" / "secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = read_secret(tmp_path / "state")
    assert len(secret) >= 32
    assert secret not in done.stdout + done.stderr
    row = managed(controller, instance_id)
    assert row is not None
    assert row["InstanceName"] == "web-1"  # InstanceCount 5: one digit
    assert row["ActivationId"] == activation_id
    assert row["Hostname"] == socket.gethostname()
    assert row["OsType"] == "linux"
    assert row["RegistrationTime"]
    assert row["Connected"] is False  # registered, but no agent polls yet
    assert activation_row(controller, activation_id)["RegisteredCount"] == 1


def test_a_registered_state_dir_is_registered_again_only_with_force(
    controller: Controller, tmp_path: Path
) -> None:
    activation_id, code = create_activation(controller, InstanceCount=3)
    state_dir = tmp_path / "state"
    first = register(controller, activation_id, code, state_dir).stdout.strip()
    again = register(controller, activation_id, code, state_dir)
    assert again.returncode == 5
    assert again.stderr == (
        f"agentd: {state_dir} is registered already, as {first}; --force registers it again\n"
    )
    assert activation_row(controller, activation_id)["RegisteredCount"] == 1  # never asked
    argv = [sys.executable, "-m", "agentd", "register", "--server", controller.url, "--force"]
    argv += ["--activation-id", activation_id, "--activation-code", code]
    forced = subprocess.run([*argv, "--state-dir", str(state_dir)], capture_output=True, text=True)
    assert forced.returncode == 0, forced.stderr
    second = forced.stdout.strip()
    assert second.startswith("mi-") and second != first
    assert f'"instance_id": "{second}"' in (state_dir / "agent.json").read_text()


@pytest.mark.parametrize("wait", ["0", "-1", str(proto.MAX_WAIT + 1)])
def test_run_refuses_a_poll_wait_out_of_range(
    controller: Controller, tmp_path: Path, wait: str
) -> None:
    activation_id, code = create_activation(controller)
    assert register(controller, activation_id, code, tmp_path / "state").returncode == 0
    argv = [sys.executable, "-m", "agentd", "run", "--state-dir", str(tmp_path / "state")]
    done = subprocess.run([*argv, "--poll-wait", wait], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert f"--poll-wait must be above 0 and at most {proto.MAX_WAIT:.0f}" in done.stderr


def test_default_names_are_zero_padded_to_the_instance_count(
    controller: Controller, tmp_path: Path
) -> None:
    activation_id, code = create_activation(controller, InstanceName="web", InstanceCount=10)
    names = []
    for index, explicit in enumerate((None, None, "custom-name")):
        done = register(controller, activation_id, code, tmp_path / str(index), name=explicit)
        assert done.returncode == 0, done.stderr
        row = managed(controller, done.stdout.strip())
        assert row is not None
        names.append(row["InstanceName"])
    assert names == ["web-01", "web-02", "custom-name"]
    assert activation_row(controller, activation_id)["RegisteredCount"] == 3


def test_every_activation_code_can_be_passed_as_its_own_argument(
    controller: Controller, tmp_path: Path
) -> None:
    """`--activation-code CODE` must work for any code the controller issues, also one that
    starts with '-' (which argparse would take for an option)."""
    for _ in range(300):
        activation_id, code = create_activation(controller, InstanceCount=1)
        if code.startswith("-"):
            done = register(controller, activation_id, code, tmp_path / "state")
            assert done.returncode == 0, f"code {code!r}: {done.stderr}"
            return
        api(controller).call("DeleteActivation", {"ActivationId": activation_id})
    # None of 300 codes started with '-': the controller avoids them (were 1 in 64 codes to
    # start with '-', 300 draws would all miss with a chance of 0.9%).


def test_refused_registrations_exit_3_with_a_message(
    controller: Controller, tmp_path: Path
) -> None:
    activation_id, code = create_activation(controller, InstanceCount=1)
    wrong = register(controller, activation_id, code + "x", tmp_path / "wrong")
    unknown = register(controller, "NO-SUCH-ACTIVATION", code, tmp_path / "unknown")
    first = register(controller, activation_id, code, tmp_path / "first")
    exhausted = register(controller, activation_id, code, tmp_path / "exhausted")
    disabled_id, disabled_code = create_activation(controller)
    api(controller).call("DisableActivation", {"ActivationId": disabled_id})
    disabled = register(controller, disabled_id, disabled_code, tmp_path / "disabled")

    assert first.returncode == 0, first.stderr
    for label, done, word in (
        ("wrong code", wrong, "Activation.InvalidCode"),
        ("unknown activation", unknown, "NotFound"),
        ("exhausted", exhausted, "Activation.InstanceCountExceeded"),
        ("disabled", disabled, "Activation.Disabled"),
    ):
        assert done.returncode == 3, (label, done.stdout, done.stderr)
        assert "refused" in done.stderr and word in done.stderr, (label, done.stderr)
        assert done.stdout == "", label
    assert not (tmp_path / "wrong" / "secret").exists()
    assert activation_row(controller, activation_id)["RegisteredCount"] == 1


@pytest.mark.sqlite_only
def test_an_expired_activation_is_refused(controller: Controller, tmp_path: Path) -> None:
    activation_id, code = create_activation(controller, TimeToLiveInHours=1)
    # Age the activation by two hours, straight in the controller's store.
    with sqlite3.connect(controller.data_dir / "assist.db", timeout=10) as db:
        db.execute(
            "UPDATE activations SET creation_time = creation_time - 7200 WHERE activation_id = ?",
            (activation_id,),
        )
    done = register(controller, activation_id, code, tmp_path / "state")
    assert done.returncode == 3, done.stderr
    assert "Activation.Expired" in done.stderr


def test_disable_and_delete_activations(controller: Controller, tmp_path: Path) -> None:
    used_id, used_code = create_activation(controller, InstanceName="db", InstanceCount=3)
    assert register(controller, used_id, used_code, tmp_path / "state").returncode == 0
    disabled = api(controller).call("DisableActivation", {"ActivationId": used_id})["Activation"]
    assert disabled["ActivationId"] == used_id
    assert disabled["Disabled"] is True
    assert (disabled["InstanceCount"], disabled["RegisteredCount"]) == (3, 1)
    assert activation_row(controller, used_id)["Disabled"] is True
    expect_api_error("Activation.InUse", "DeleteActivation", controller, {"ActivationId": used_id})

    unused_id, _ = create_activation(controller, InstanceName="spare", Description="spare")
    deleted = api(controller).call("DeleteActivation", {"ActivationId": unused_id})["Activation"]
    assert (deleted["ActivationId"], deleted["InstanceName"]) == (unused_id, "spare")
    assert "Disabled" not in deleted
    listed = api(controller).call("DescribeActivations", {"ActivationId": unused_id})
    assert listed["ActivationList"] == []
    for action in ("DisableActivation", "DeleteActivation"):
        expect_api_error(
            "InvalidActivationId.NotFound", action, controller, {"ActivationId": unused_id}
        )


def test_managed_instances_describe_and_modify(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller, name="before-rename")
    row = managed(controller, agent.instance_id)
    assert row is not None
    assert row["Connected"] is True
    assert row["AgentVersion"]
    assert row["Hostname"] == socket.gethostname()
    assert row["IntranetIp"] == "127.0.0.1"
    assert row["MachineId"] == Path("/etc/machine-id").read_text().strip()
    assert row["OsVersion"]
    secret = read_secret(agent.state_dir)
    assert secret not in agent.log() and secret not in controller.log(), "secrets are never logged"
    renamed = api(controller).call(
        "ModifyManagedInstance", {"InstanceId": agent.instance_id, "InstanceName": "after.rename"}
    )
    assert renamed["Instance"] == {"InstanceId": agent.instance_id, "InstanceName": "after.rename"}
    by_name = api(controller).call("DescribeManagedInstances", {"InstanceName": "after.rename"})
    assert agent.instance_id in {i["InstanceId"] for i in by_name["Instances"]}
    connected = api(controller).call(
        "DescribeManagedInstances", {"InstanceId": [agent.instance_id], "Connected": "false"}
    )
    assert connected["Instances"] == []
    # The new name reaches the agent's scripts through {{ACS::InstanceName}}.
    shown = run_and_wait(
        controller,
        agent.instance_id,
        "echo {{ACS::InstanceName}}",
        EnableParameter=True,
    )
    assert shown["Output"] == "after.rename\n"
    for bad in ("x", "9lives", "has space"):
        expect_api_error(
            "InvalidParameter.InstanceName",
            "ModifyManagedInstance",
            controller,
            {"InstanceId": agent.instance_id, "InstanceName": bad},
        )


def test_a_deregistered_instance_is_refused(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller, "--poll-wait", "1")
    row = managed(controller, agent.instance_id)
    assert row is not None
    activation_id = row["ActivationId"]
    snapshot = api(controller).call("DeregisterManagedInstance", {"InstanceId": agent.instance_id})[
        "Instance"
    ]
    assert snapshot["InstanceId"] == agent.instance_id
    assert snapshot["ActivationId"] == activation_id
    assert "Connected" not in snapshot
    assert activation_row(controller, activation_id)["DeregisteredCount"] == 1
    assert managed(controller, agent.instance_id) is None

    assert agent.process is not None
    assert agent.process.wait(timeout=20) == 3
    assert "refused" in agent.log()
    expect_api_error(
        "InvalidInstanceId.NotFound",
        "DeregisterManagedInstance",
        controller,
        {"InstanceId": agent.instance_id},
    )
    expect_api_error(
        "InvalidInstance.NotFound",
        "RunCommand",
        controller,
        {"InstanceId": [agent.instance_id], "Type": "RunShellScript", "CommandContent": "id"},
    )


def test_deregistration_ends_the_agent_and_its_work_at_once(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    agent = start_agent(controller)  # the default 600 s poll: held when the instance goes
    pid_file = tmp_path / "pid"
    running = run_script(controller, agent.instance_id, f"echo $$ > {pid_file}; sleep 600")
    pid = read_pid(pid_file)
    wait_status(controller, running, {"Running"})

    api(controller).call("DeregisterManagedInstance", {"InstanceId": agent.instance_id})
    assert agent.process is not None
    assert agent.process.wait(timeout=10) == 3
    wait_for(lambda: pid_gone(pid), what="the deregistered instance's script to end")
    row = result(controller, running)
    assert (row["InvocationStatus"], row["ErrorCode"]) == ("Terminated", "InstanceReleased")
    assert row["FinishedTime"]
    # The refusal is final: the agent did not keep knocking.
    assert agent.log().count("refused") <= 2, agent.log()


def test_a_controller_sharing_the_store_refuses_the_agent_once_the_deregistration_returns(
    controller: Controller, start_agent: StartAgent
) -> None:
    second = dataclasses.replace(controller, port=free_port(), process=None)  # the same store
    second.start()
    try:
        agent = start_agent(second)  # the default 600 s poll, held by the second controller
        secret = read_secret(agent.state_dir)
        api(controller).call("DeregisterManagedInstance", {"InstanceId": agent.instance_id})
        refused = agent_post(second, proto.POLL, agent.instance_id, secret, {"wait": 0})
        assert (refused.status_code, refused.json()["Code"]) == (401, "Agent.NotRegistered")
        assert agent.process is not None
        assert agent.process.wait(timeout=10) == 3  # its held poll was answered with it
    finally:
        second.stop()


def test_an_agent_sees_only_its_own_work(
    controller: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    mine = start_agent(controller)
    my_secret = read_secret(mine.state_dir)
    # Another instance, registered but with no agent running yet: its work stays Pending.
    activation_id, code = create_activation(controller, InstanceCount=1)
    done = register(controller, activation_id, code, tmp_path / "other")
    assert done.returncode == 0, done.stderr
    other = Agent(controller, tmp_path / "other", done.stdout.strip())
    other_task = run_script(controller, other.instance_id, "echo for the other one")

    poll: dict[str, Any] = {"wait": 0, "active": []}
    for instance_id, secret in (
        (other.instance_id, my_secret),  # someone else's id with my secret
        (mine.instance_id, "not-the-secret"),
        (mine.instance_id, ""),
        ("mi-doesnotexist0000", my_secret),
    ):
        for path, body in ((proto.POLL, poll), (proto.REPORT, {"reports": []})):
            answer = agent_post(controller, path, instance_id, secret, body)
            assert answer.status_code == 401, (instance_id, path, answer.text)
            assert other_task not in answer.text
    # My own poll never carries the other instance's work.
    answer = agent_post(controller, proto.POLL, mine.instance_id, my_secret, poll)
    assert answer.status_code == 200, answer.text
    assert other_task not in answer.text

    forged = forged_report(other_task)
    body = {"reports": [forged.to_wire()]}
    answer = agent_post(controller, proto.REPORT, mine.instance_id, my_secret, body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["rejected"] == [forged.report_id]
    assert answer.json()["acked"] == []
    row = result(controller, other_task)
    assert (row["InvocationStatus"], row["Output"]) == ("Pending", "")

    # The other instance's own agent still gets the task, untouched.
    try:
        other.start()
        row = wait_status(controller, other_task, timeout=10)
    finally:
        other.kill()
    assert (row["InvocationStatus"], row["Output"]) == ("Success", "for the other one\n")
