"""Acknowledged writes, access keys and used nonces survive `kill -9` of the controller.

DESIGN.md decision 4 ("the controller commits before it answers") and 8 (nonce replay checks);
reference §1.2 (SignatureNonceUsed), §4.1 (ClientToken idempotency), §6 (response fields).
One dedicated controller is populated, killed with SIGKILL right after the last acknowledged
write, started again on the same port and data directory, and then inspected.
"""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from conftest import REGION, Controller, StartController, run_cli
from rawclient import call, expect_error, new_nonce, ok_body

pytestmark = pytest.mark.e2e

Params = dict[str, str | None]
NONCE_V1 = new_nonce()
NONCE_V3 = new_nonce()


def rpc(ctl: Controller, action: str, params: Params, **kw: Any) -> requests.Response:
    full: Params = {"Action": action, "RegionId": REGION, **params}
    return call(ctl.url, ctl.access_key_id, ctl.access_key_secret, full, **kw)


def ok(ctl: Controller, action: str, params: Params, **kw: Any) -> dict[str, Any]:
    return ok_body(rpc(ctl, action, params, **kw))


def one_command(ctl: Controller, command_id: str) -> dict[str, Any]:
    body = ok(ctl, "DescribeCommands", {"CommandId": command_id})
    [command] = body["Commands"]["Command"]
    return dict(command)


def one_invocation(ctl: Controller, invoke_id: str) -> dict[str, Any]:
    body = ok(ctl, "DescribeInvocations", {"InvokeId": invoke_id})
    [invocation] = body["Invocations"]["Invocation"]
    return dict(invocation)


def command_tags(ctl: Controller, command_id: str) -> list[dict[str, Any]]:
    params: Params = {"ResourceType": "command", "ResourceId.1": command_id}
    return list(ok(ctl, "ListTagResources", params)["TagResources"]["TagResource"])


INVOKE: Params = {"Parameters": json.dumps({"name": "restart"}), "Timeout": "30"}
INVOKE |= {"ClientToken": "restart-invoke-token"}
RUN_KEEP: Params = {"Type": "RunShellScript", "CommandContent": "echo kept", "KeepCommand": "true"}
RUN_KEEP |= {"Tag.1.Key": "kind", "Tag.1.Value": "kept", "ClientToken": "restart-run-token"}


@dataclass
class Before:
    """What the controller acknowledged and answered before it was killed."""

    ctl: Controller
    instance: str
    command_id: str
    invoke_id: str
    kept_command_id: str
    kept_invoke_id: str
    command: dict[str, Any]
    invocation: dict[str, Any]
    kept_invocation: dict[str, Any]
    tags: list[dict[str, Any]]
    second_key: tuple[str, str]
    burst: Burst | None = None


@dataclass
class Burst:
    """Concurrent writes acknowledged just before the kill."""

    instance: str
    commands: list[str]
    invocations: list[str]
    nonces: list[str]


BURST = 24  # writes of each kind, from 8 threads


def burst(ctl: Controller) -> Burst:
    instance = ctl.add_instance(name="burst-host")
    content = base64.b64encode(b"echo burst").decode()

    def write(i: int) -> tuple[str, str, str]:
        nonce = new_nonce()
        create: Params = {"Name": f"burst-{i}", "Type": "RunShellScript", "CommandContent": content}
        command = ok(ctl, "CreateCommand", create, nonce=nonce)["CommandId"]
        run: Params = {"Type": "RunShellScript", "CommandContent": f"echo {i}"}
        invocation = ok(ctl, "RunCommand", {**run, "InstanceId.1": instance})["InvokeId"]
        return command, invocation, nonce

    with ThreadPoolExecutor(max_workers=8) as pool:
        done = list(pool.map(write, range(BURST)))
    return Burst(instance, [d[0] for d in done], [d[1] for d in done], [d[2] for d in done])


def populate(ctl: Controller) -> Before:
    """Sequential writes of every kind, then reads of what they made (compared after restart)."""
    instance = ctl.add_instance(name="restart-host")
    create: Params = {"Name": "restart-cmd", "Description": "survives kill -9"}
    create |= {"Type": "RunShellScript", "WorkingDir": "/tmp", "Timeout": "123"}
    create |= {"CommandContent": base64.b64encode(b"echo {{name}}").decode()}
    create |= {"EnableParameter": "true", "Tag.1.Key": "team", "Tag.1.Value": "ops"}
    command_id = ok(ctl, "CreateCommand", create)["CommandId"]
    invoke_id = ok(
        ctl, "InvokeCommand", {"CommandId": command_id, "InstanceId.1": instance, **INVOKE}
    )["InvokeId"]
    kept = ok(ctl, "RunCommand", {"InstanceId.1": instance, **RUN_KEEP})
    keys = json.loads(run_cli("controller", "access-key", "create", *ctl.store_args))
    # Nonces used before the restart (their requests were acknowledged).
    ok(ctl, "DescribeCommands", {}, nonce=NONCE_V1)
    ok(ctl, "DescribeCommands", {}, nonce=NONCE_V3, signature="v3")
    return Before(
        ctl=ctl,
        instance=instance,
        command_id=command_id,
        invoke_id=invoke_id,
        kept_command_id=kept["CommandId"],
        kept_invoke_id=kept["InvokeId"],
        command=one_command(ctl, command_id),
        invocation=one_invocation(ctl, invoke_id),
        kept_invocation=one_invocation(ctl, kept["InvokeId"]),
        tags=command_tags(ctl, command_id),
        second_key=(keys["AccessKeyId"], keys["AccessKeySecret"]),
    )


@pytest.fixture(scope="module")
def before(start_controller: StartController) -> Before:
    ctl = start_controller()
    state = populate(ctl)
    state.burst = burst(ctl)  # the kill follows the last acknowledgement at once
    ctl.restart(hard=True)
    return state


def test_command_survives(before: Before) -> None:
    assert one_command(before.ctl, before.command_id) == before.command
    assert before.command["Name"] == "restart-cmd"
    assert before.command["Timeout"] == 123


def test_command_survives_through_the_core_sdk(before: Before) -> None:
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkecs.request.v20140526.DescribeCommandsRequest import DescribeCommandsRequest

    ctl = before.ctl
    client = AcsClient(ctl.access_key_id, ctl.access_key_secret, REGION, auto_retry=False)
    client.add_endpoint(REGION, "Ecs", ctl.endpoint)
    request = DescribeCommandsRequest()
    request.set_CommandId(before.command_id)
    body = json.loads(client.do_action_with_exception(request))
    [command] = body["Commands"]["Command"]
    assert command == before.command


def test_invocations_survive(before: Before) -> None:
    assert one_invocation(before.ctl, before.invoke_id) == before.invocation
    assert one_invocation(before.ctl, before.kept_invoke_id) == before.kept_invocation
    assert before.invocation["CommandId"] == before.command_id
    assert json.loads(before.invocation["Parameters"]) == {"name": "restart"}
    instances = before.invocation["InvokeInstances"]["InvokeInstance"]
    assert [item["InstanceId"] for item in instances] == [before.instance]


def test_kept_command_of_run_command_survives(before: Before) -> None:
    command = one_command(before.ctl, before.kept_command_id)
    assert command["CommandId"] == before.kept_command_id


def test_tags_survive(before: Before) -> None:
    assert command_tags(before.ctl, before.command_id) == before.tags
    pairs = [(t["ResourceId"], t["TagKey"], t["TagValue"]) for t in before.tags]
    assert pairs == [(before.command_id, "team", "ops")]


def test_client_tokens_survive(before: Before) -> None:
    """Same ClientToken and parameters after the restart: the original ids come back (§4.1)."""
    params: Params = {"CommandId": before.command_id, "InstanceId.1": before.instance, **INVOKE}
    assert ok(before.ctl, "InvokeCommand", params)["InvokeId"] == before.invoke_id
    resp = rpc(before.ctl, "InvokeCommand", {**params, "Timeout": "31"})
    expect_error(resp, 403, "IdempotentParameterMismatch")
    again = ok(before.ctl, "RunCommand", {"InstanceId.1": before.instance, **RUN_KEEP})
    assert (again["CommandId"], again["InvokeId"]) == (
        before.kept_command_id,
        before.kept_invoke_id,
    )


def test_access_keys_survive(before: Before) -> None:
    ok(before.ctl, "DescribeCommands", {})
    key_id, secret = before.second_key
    params: Params = {"Action": "DescribeCommands", "RegionId": REGION}
    for signature in ("v1", "v3"):
        ok_body(call(before.ctl.url, key_id, secret, params, signature=signature))


@pytest.mark.parametrize(
    ("signature", "nonce"), [("v1", NONCE_V1), ("v3", NONCE_V3)], ids=["v1", "v3"]
)
def test_used_nonces_are_still_rejected(before: Before, signature: str, nonce: str) -> None:
    resp = rpc(before.ctl, "DescribeCommands", {}, signature=signature, nonce=nonce)
    expect_error(resp, 400, "SignatureNonceUsed")


def test_new_writes_after_restart_get_new_ids(before: Before) -> None:
    create: Params = {"Name": "after-restart", "Type": "RunShellScript"}
    create |= {"CommandContent": base64.b64encode(b"echo again").decode()}
    command_id = ok(before.ctl, "CreateCommand", create)["CommandId"]
    assert command_id not in (before.command_id, before.kept_command_id)
    run: Params = {"CommandId": command_id, "InstanceId.1": before.instance}
    invoke_id = ok(before.ctl, "InvokeCommand", run)["InvokeId"]
    assert invoke_id not in (before.invoke_id, before.kept_invoke_id)


def test_concurrent_acknowledged_writes_survive(before: Before) -> None:
    assert before.burst is not None
    found = ok(before.ctl, "DescribeCommands", {"Name": "burst-*", "PageSize": "50"})
    names = {c["CommandId"] for c in found["Commands"]["Command"]}
    assert set(before.burst.commands) <= names
    listed = ok(
        before.ctl, "DescribeInvocations", {"InstanceId": before.burst.instance, "PageSize": "50"}
    )
    invocations = {i["InvokeId"] for i in listed["Invocations"]["Invocation"]}
    assert invocations == set(before.burst.invocations)


def test_concurrently_used_nonces_are_still_rejected(before: Before) -> None:
    assert before.burst is not None
    for nonce in (before.burst.nonces[0], before.burst.nonces[-1]):
        expect_error(
            rpc(before.ctl, "DescribeCommands", {}, nonce=nonce), 400, "SignatureNonceUsed"
        )


def test_no_secret_in_the_log(before: Before) -> None:
    log = before.ctl.log()
    assert log.count("Started server process") == 2, log[-2000:]  # both runs, one log file
    assert before.ctl.access_key_secret not in log
    assert before.second_key[1] not in log
