"""`assistcli controller access-key ...` and `instance ...` against a running controller's store:
what they print, and that a running controller refuses a disabled or deleted key, or a removed
instance's agent, as soon as the command returns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import agent_post, read_secret, run_script, wait_status
from conftest import REGION, Controller, StartAgent, api, free_port, run_cli
from rawclient import call, expect_error, ok_body

from assistcli.api import agent as proto

pytestmark = pytest.mark.e2e

DESCRIBE: dict[str, str | None] = {"Action": "DescribeCommands", "RegionId": REGION}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistcli", "controller", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def admin(ctl: Controller, *args: str) -> str:
    return run_cli("controller", *args, *ctl.store_args)


def listed(ctl: Controller, what: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(admin(ctl, what, "list", "--output", "json"))[
        "AccessKeys" if what == "access-key" else "Instances"
    ]
    return rows


# Access keys ------------------------------------------------------------------------------------
@pytest.mark.parametrize("signature", ["v1", "v3"])
def test_a_disabled_or_deleted_key_is_refused_at_once(
    controller: Controller, signature: str
) -> None:
    key = json.loads(admin(controller, "access-key", "create"))
    key_id, secret = key["AccessKeyId"], key["AccessKeySecret"]

    def send() -> Any:
        return call(controller.url, key_id, secret, DESCRIBE, signature=signature)

    ok_body(send())
    admin(controller, "access-key", "disable", key_id)
    body = expect_error(send(), 403, "InvalidAccessKeyId.Inactive")
    assert body["Message"] == "Specified access key is disabled."
    admin(controller, "access-key", "enable", key_id)
    ok_body(send())
    admin(controller, "access-key", "delete", key_id)
    expect_error(send(), 404, "InvalidAccessKeyId.NotFound")
    assert key_id not in [row["AccessKeyId"] for row in listed(controller, "access-key")]


def test_keys_are_listed_without_their_secrets(controller: Controller) -> None:
    key = json.loads(admin(controller, "access-key", "create"))
    ok_body(call(controller.url, key["AccessKeyId"], key["AccessKeySecret"], DESCRIBE))
    admin(controller, "access-key", "disable", key["AccessKeyId"])

    table = admin(controller, "access-key", "list")
    header = [name.strip() for name in table.splitlines()[0].split("|")]
    assert header == ["AccessKeyId", "Status", "CreateTime", "LastUsedTime"]
    line = next(row for row in table.splitlines() if row.startswith(key["AccessKeyId"]))
    assert "Inactive" in line
    rows = {row["AccessKeyId"]: row for row in listed(controller, "access-key")}
    mine = rows[key["AccessKeyId"]]
    assert mine["Status"] == "Inactive" and mine["LastUsedTime"].endswith("Z")
    assert rows[controller.access_key_id]["Status"] == "Active"
    for secret in (key["AccessKeySecret"], controller.access_key_secret):
        assert secret not in table and secret not in json.dumps(rows)


@pytest.mark.parametrize("verb", ["disable", "enable", "delete"])
def test_an_unknown_key_is_an_error(controller: Controller, verb: str) -> None:
    done = cli("access-key", verb, "LTAInosuchkey", *controller.store_args)
    assert done.returncode == 1, done
    assert "ERROR: access key 'LTAInosuchkey' does not exist" in done.stderr


# Instances --------------------------------------------------------------------------------------
def test_a_removed_instance_is_refused_at_once_and_its_records_end(
    controller: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(controller)
    idle = controller.add_instance(name="no-agent")  # its run waits for an agent: Pending
    running = run_script(controller, agent.instance_id, "sleep 60")
    wait_status(controller, running, {"Running"})
    waiting = run_script(controller, idle, "echo never")
    rows = {row["InstanceId"]: row for row in listed(controller, "instance")}
    assert rows[agent.instance_id]["AgentStatus"] == "Online"
    assert rows[idle]["AgentStatus"] == "Offline" and rows[idle]["InstanceName"] == "no-agent"

    for instance_id in (agent.instance_id, idle):
        assert admin(controller, "instance", "remove", instance_id).strip().endswith("removed")

    # The running controller refuses the agent now: its held poll, and any request after it.
    secret = read_secret(agent.state_dir)
    refused = agent_post(controller, proto.POLL, agent.instance_id, secret, {"wait": 0})
    assert (refused.status_code, refused.json()["Code"]) == (401, "Agent.NotRegistered")
    assert agent.process is not None and agent.process.wait(timeout=10) == 3
    ran = wait_status(controller, running)
    assert (ran["InvocationStatus"], ran["ErrorCode"]) == ("Terminated", "InstanceReleased")
    never = wait_status(controller, waiting)
    assert (never["InvocationStatus"], never["ErrorCode"]) == ("Aborted", "InstanceReleased")
    found = api(controller).call(
        "DescribeManagedInstances", {"InstanceId": [agent.instance_id, idle]}
    )
    assert found["Instances"] == []
    assert not {agent.instance_id, idle} & {
        row["InstanceId"] for row in listed(controller, "instance")
    }


def test_removing_an_unknown_instance_is_an_error(controller: Controller) -> None:
    done = cli("instance", "remove", "mi-nosuch", *controller.store_args)
    assert done.returncode == 1, done
    assert "ERROR: instance 'mi-nosuch' does not exist" in done.stderr


# Where the store is -----------------------------------------------------------------------------
@pytest.mark.sqlite_only
def test_store_urls_name_the_same_database(controller: Controller) -> None:
    database = controller.data_dir / "assist.db"
    for url in (f"sqlite:///{database}", str(database)):
        rows = json.loads(run_cli("controller", "access-key", "list", "-o", "json", "--store", url))
        assert controller.access_key_id in [row["AccessKeyId"] for row in rows["AccessKeys"]]


@pytest.mark.parametrize(
    "command", [["serve"], ["access-key", "list"], ["instance", "remove", "x"]]
)
def test_an_unsupported_store_is_a_usage_error(command: list[str]) -> None:
    done = cli(*command, "--store", "mysql://db.example/assist")
    assert done.returncode == 2, done
    assert "unsupported store URL 'mysql://db.example/assist'" in done.stderr


@pytest.mark.parametrize(
    "command", [["serve", "--listen", "127.0.0.1:8742"], ["access-key", "list"]]
)
def test_an_unreachable_database_is_a_one_line_error(command: list[str], tmp_path: Path) -> None:
    url = f"postgresql://assist:secret@127.0.0.1:{free_port()}/assist"  # nothing listens there
    done = cli(*command, "--data-dir", str(tmp_path), "--store", url)
    assert done.returncode == 1, done
    [line] = done.stderr.splitlines()
    assert line.startswith("ERROR: cannot connect to PostgreSQL at postgresql://assist:***@"), line
    assert "secret" not in done.stderr and "Traceback" not in done.stderr
