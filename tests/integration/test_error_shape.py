"""Every bad request gets a 4xx with the §1.6 error body; nothing a client sends causes a 5xx.

Reference: cloud-assistant-api.md §1.1-1.7 (protocol, error body, common codes) and §6 (per-action
parameters and errors). Requests are built by the independent raw client (`rawclient.py`) and
given to a controller in this process as they are, byte for byte; what the HTTP layer makes of
bytes on a socket is tested by e2e/test_http_limits.py and fuzz/test_http_fuzz.py.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from conftest import REGION, StartApp
from inprocess import InProcessController
from rawclient import (
    build,
    describe,
    encode_pairs,
    error_body,
    expect_error,
    json_body,
    ok_body,
    sign_v1,
)

Params = dict[str, str | None]

# Placeholders in the case tables, replaced by real ids at run time.
CMD = "<command>"  # an existing command of the caller
VICTIM = "<fresh-command>"  # a brand-new command, made for this one request (DeleteCommand)
INV = "<invocation>"  # an existing one-time invocation
PINV = INV  # ModifyInvocationAttribute: only a one-time invocation exists for now
INST = "<instance>"  # a registered instance


def rpc(ctl: InProcessController, params: Params, **kwargs: Any) -> requests.Response:
    return ctl.send(build(ctl.url, ctl.access_key_id, ctl.access_key_secret, params, **kwargs))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class World:
    """Resources of a controller that the cases refer to."""

    ctl: InProcessController
    instance: str
    command: str
    invocation: str

    def call(self, action: str, params: Params, **kwargs: Any) -> requests.Response:
        return rpc(
            self.ctl, {"Action": action, "RegionId": REGION, **self.resolve(params)}, **kwargs
        )

    def ok(self, action: str, params: Params) -> dict[str, object]:
        return ok_body(self.call(action, params))

    def resolve(self, params: Params) -> Params:
        """Replace the placeholders by real ids (None values, which drop a param, stay)."""
        fixed = {CMD: self.command, INV: self.invocation, INST: self.instance}
        out: Params = {}
        for key, value in params.items():
            if value == VICTIM:
                value = new_command(self.ctl, "victim")
            elif value is not None:
                value = fixed.get(value, value)
            out[key] = value
        return out

    @classmethod
    def make(cls, ctl: InProcessController, name: str) -> World:
        instance = ctl.add_instance(name=name)
        command = new_command(ctl, name)
        run: Params = {"Action": "RunCommand", "RegionId": REGION, "Type": "RunShellScript"}
        run |= {"CommandContent": "echo once", "InstanceId.1": instance}
        invocation = str(ok_body(rpc(ctl, run))["InvokeId"])
        return cls(ctl, instance, command, invocation)


def new_command(ctl: InProcessController, name: str) -> str:
    params: Params = {"Action": "CreateCommand", "RegionId": REGION, "Name": name}
    params |= {"Type": "RunShellScript", "CommandContent": b64("echo shape")}
    return str(ok_body(rpc(ctl, params))["CommandId"])


@pytest.fixture(scope="module")
def controller(app_controller: InProcessController) -> InProcessController:
    return app_controller


@pytest.fixture(scope="module")
def world(controller: InProcessController) -> World:
    return World.make(controller, "error-shape")


# A valid request per action: each case below breaks exactly one thing in it.
BASES: dict[str, Params] = {
    "CreateCommand": {"Name": "shape", "Type": "RunShellScript", "CommandContent": b64("echo 1")},
    "ModifyCommand": {"CommandId": CMD, "Description": "modified"},
    "DeleteCommand": {"CommandId": VICTIM},
    "DescribeCommands": {},
    "InvokeCommand": {"CommandId": CMD, "InstanceId.1": INST},
    "RunCommand": {"Type": "RunShellScript", "CommandContent": "echo 1", "InstanceId.1": INST},
    "StopInvocation": {"InvokeId": INV},
    "ModifyInvocationAttribute": {"InvokeId": PINV, "Frequency": "rate(2h)"},
    "DescribeInvocations": {},
    "DescribeInvocationResults": {},
    "TagResources": {
        "ResourceType": "command",
        "ResourceId.1": CMD,
        "Tag.1.Key": "shape",
        "Tag.1.Value": "v",
    },
    "UntagResources": {"ResourceType": "command", "ResourceId.1": CMD, "TagKey.1": "shape"},
    "ListTagResources": {"ResourceType": "command"},
}
ACTIONS = list(BASES)

KB100 = "x" * 100_000
UNICODE = "Ünï\u2603\u65e5\u672c\U0001f600"


def many(prefix: str, count: int, value: str) -> Params:
    return {f"{prefix}.{n}": f"{value}{n}" for n in range(1, count + 1)}


def paging_cases() -> list[tuple[str, Params]]:
    cases: list[tuple[str, Params]] = []
    for name in ("PageSize", "MaxResults"):
        cases += [(f"{name}={v}", {name: v}) for v in ("0", "51", "abc", "-1", "五")]
    cases += [(f"PageNumber={v}", {"PageNumber": v}) for v in ("0", "abc", "-3")]
    return cases


def list_cases(name: str, value: str) -> list[tuple[str, Params]]:
    return [
        (f"{name}.0", {f"{name}.1": None, f"{name}.0": value}),
        (f"{name}.x", {f"{name}.1": None, f"{name}.x": value}),
        (f"{name}.1 empty", {f"{name}.1": ""}),
    ]


# Missing required parameters: 4xx and a Code starting with "Missing" (§1.7 MissingParameter
# and the per-action MissingParam.X variants). A list or struct list name drops all its members.
MISSING: dict[str, list[str]] = {
    "CreateCommand": ["RegionId", "Name", "Type", "CommandContent"],
    "ModifyCommand": ["RegionId", "CommandId"],
    "DeleteCommand": ["RegionId", "CommandId"],
    "DescribeCommands": ["RegionId"],
    "InvokeCommand": ["RegionId", "CommandId", "InstanceId"],
    "RunCommand": ["RegionId", "Type", "CommandContent", "InstanceId"],
    "StopInvocation": ["RegionId", "InvokeId"],
    "ModifyInvocationAttribute": ["RegionId", "InvokeId"],
    "DescribeInvocations": ["RegionId"],
    "DescribeInvocationResults": ["RegionId"],
    "TagResources": ["RegionId", "ResourceType", "ResourceId", "Tag"],
    "UntagResources": ["RegionId", "ResourceType", "ResourceId"],
    "ListTagResources": ["RegionId", "ResourceType"],
}

# Other bad input per action: any 4xx with the error shape.
BAD: dict[str, list[tuple[str, Params]]] = {
    "CreateCommand": [
        ("Timeout=abc", {"Timeout": "abc"}),
        ("Timeout=huge", {"Timeout": "9" * 30}),
        ("EnableParameter=maybe", {"EnableParameter": "maybe"}),
        ("Name 129 chars", {"Name": "n" * 129}),
        ("Name 100 KB", {"Name": KB100}),
        ("Description 513 chars", {"Description": "d" * 513}),
        ("WorkingDir 201 chars", {"WorkingDir": "/" + "w" * 200}),
        ("Launcher 1025 chars", {"Launcher": "l" * 1025}),
        ("ClientToken 65 chars", {"ClientToken": "t" * 65}),
        ("Type unknown", {"Type": "RunPythonScript"}),
        ("Type unicode", {"Type": UNICODE}),
        ("content not base64", {"CommandContent": "a"}),
        ("content empty", {"CommandContent": ""}),
        ("content 100 KB", {"CommandContent": b64(KB100)}),
        ("Tag.1.Key 129 chars", {"Tag.1.Key": "k" * 129, "Tag.1.Value": "v"}),
        ("Tag.0.Key", {"Tag.0.Key": "k", "Tag.0.Value": "v"}),
    ],
    "ModifyCommand": [
        ("CommandId unknown", {"CommandId": "c-doesnotexist0000"}),
        ("CommandId unicode", {"CommandId": "c-" + UNICODE}),
        ("Timeout=abc", {"Timeout": "abc"}),
        ("Name 129 chars", {"Name": "n" * 129}),
        ("Description 513 chars", {"Description": "d" * 513}),
        ("WorkingDir 201 chars", {"WorkingDir": "/" + "w" * 200}),
        ("Launcher 1025 chars", {"Launcher": "l" * 1025}),
    ],
    "DeleteCommand": [
        ("CommandId unknown", {"CommandId": "c-doesnotexist0000"}),
        ("CommandId unicode", {"CommandId": "c-" + UNICODE}),
        ("CommandId empty", {"CommandId": ""}),
    ],
    "DescribeCommands": [
        *paging_cases(),
        ("Latest=maybe", {"Latest": "maybe"}),
    ],
    "InvokeCommand": [
        ("CommandId unknown", {"CommandId": "c-doesnotexist0000"}),
        ("CommandId unicode", {"CommandId": "c-" + UNICODE}),
        ("instance unknown", {"InstanceId.1": "i-doesnotexist0000"}),
        *list_cases("InstanceId", INST),
        ("101 instances", {"InstanceId.1": None, **many("InstanceId", 101, "i-x")}),
        ("Timeout=abc", {"Timeout": "abc"}),
        ("RepeatMode unknown", {"RepeatMode": "Sometimes"}),
        ("Period without Frequency", {"RepeatMode": "Period"}),
        ("Frequency garbage", {"RepeatMode": "Period", "Frequency": "every tuesday"}),
        ("TerminationMode unknown", {"TerminationMode": "Nuke"}),
        ("Username 256 chars", {"Username": "u" * 256}),
        ("Parameters not JSON", {"Parameters": "{not json"}),
        ("ContainerId malformed", {"ContainerId": "not-a-container-id"}),
        ("ClientToken 65 chars", {"ClientToken": "t" * 65}),
    ],
    "RunCommand": [
        ("Type unknown", {"Type": "RunPythonScript"}),
        ("Type unicode", {"Type": UNICODE}),
        ("instance unknown", {"InstanceId.1": "i-doesnotexist0000"}),
        *list_cases("InstanceId", INST),
        ("101 instances", {"InstanceId.1": None, **many("InstanceId", 101, "i-x")}),
        ("Timeout=abc", {"Timeout": "abc"}),
        ("EnableParameter=maybe", {"EnableParameter": "maybe"}),
        ("KeepCommand=maybe", {"KeepCommand": "maybe"}),
        ("base64 content invalid", {"ContentEncoding": "Base64", "CommandContent": "a"}),
        ("content 100 KB", {"CommandContent": KB100}),
        (
            "Parameters not JSON",
            {"EnableParameter": "true", "CommandContent": "echo {{a}}", "Parameters": "{nope"},
        ),
        (
            "Parameters a list",
            {"EnableParameter": "true", "CommandContent": "echo {{a}}", "Parameters": "[1, 2]"},
        ),
        (
            "Parameters non-string value",
            {"EnableParameter": "true", "CommandContent": "echo {{a}}", "Parameters": '{"a": 1}'},
        ),
        ("Period without Frequency", {"RepeatMode": "Period"}),
        ("Frequency garbage", {"RepeatMode": "Period", "Frequency": "rate(banana)"}),
        ("RepeatMode unicode", {"RepeatMode": UNICODE}),
        ("Name 129 chars", {"Name": "n" * 129}),
    ],
    "StopInvocation": [
        ("InvokeId unknown", {"InvokeId": "t-doesnotexist0000"}),
        ("InvokeId unicode", {"InvokeId": "t-" + UNICODE}),
        ("InstanceId.0", {"InstanceId.0": INST}),
        ("InstanceId.x", {"InstanceId.x": INST}),
        ("51 instances", many("InstanceId", 51, "i-x")),
    ],
    "ModifyInvocationAttribute": [
        ("InvokeId unknown", {"InvokeId": "t-doesnotexist0000"}),
        ("InvokeId unicode", {"InvokeId": "t-" + UNICODE}),
        ("EnableParameter=maybe", {"EnableParameter": "maybe"}),
        ("Parameters not JSON", {"EnableParameter": "true", "Parameters": "{nope"}),
        ("Frequency garbage", {"Frequency": "sometimes"}),
        ("InstanceId.0", {"InstanceId.0": INST}),
        ("base64 content invalid", {"ContentEncoding": "Base64", "CommandContent": "a"}),
    ],
    "DescribeInvocations": [
        *paging_cases(),
        ("IncludeOutput=maybe", {"IncludeOutput": "maybe"}),
        ("Timed=maybe", {"Timed": "maybe"}),
    ],
    "DescribeInvocationResults": [
        *paging_cases(),
        ("IncludeHistory=maybe", {"IncludeHistory": "maybe"}),
        ("IncludeHistory without InvokeId", {"IncludeHistory": "true"}),
    ],
    "TagResources": [
        ("ResourceType unknown", {"ResourceType": "spaceship"}),
        ("ResourceType unicode", {"ResourceType": UNICODE}),
        ("resource unknown", {"ResourceId.1": "c-doesnotexist0000"}),
        *list_cases("ResourceId", CMD),
        ("Tag.0.Key", {"Tag.1.Key": None, "Tag.1.Value": None, "Tag.0.Key": "k"}),
        ("Tag.1.Key empty", {"Tag.1.Key": ""}),
        ("Tag.1.Key 129 chars", {"Tag.1.Key": "k" * 129}),
        ("Tag.1.Value 129 chars", {"Tag.1.Value": "v" * 129}),
        ("duplicate keys", {"Tag.2.Key": "shape", "Tag.2.Value": "w"}),
        ("51 resources", {"ResourceId.1": None, **many("ResourceId", 51, "c-x")}),
        ("21 tags", {"Tag.1.Value": None, **{f"Tag.{n}.Key": f"k{n}" for n in range(1, 22)}}),
    ],
    "UntagResources": [
        ("ResourceType unknown", {"ResourceType": "spaceship"}),
        *list_cases("ResourceId", CMD),
        ("TagKey.0", {"TagKey.1": None, "TagKey.0": "k"}),
        ("All=maybe", {"TagKey.1": None, "All": "maybe"}),
        ("All with TagKey", {"All": "true"}),
        ("51 resources", {"ResourceId.1": None, **many("ResourceId", 51, "c-x")}),
    ],
    "ListTagResources": [
        ("ResourceType unknown", {"ResourceType": "spaceship"}),
        ("ResourceType unicode", {"ResourceType": UNICODE}),
        ("ResourceId.0", {"ResourceId.0": "c-x"}),
        ("Tag value without key", {"Tag.1.Value": "v"}),
    ],
}


def pin(status: int | None, *codes: str) -> tuple[int | None, frozenset[str]]:
    return status, frozenset(codes)


# Cases whose HTTP status and Code the reference names (§6 error lists, §7 limits, §1.7).
PINNED: dict[tuple[str, str], tuple[int | None, frozenset[str]]] = {
    ("InvokeCommand", "missing InstanceId"): pin(400, "MissingParam.InstanceId"),
    ("RunCommand", "missing InstanceId"): pin(400, "MissingParam.InstanceId"),
    ("CreateCommand", "Name 129 chars"): pin(403, "CmdName.ExceedLimit"),
    ("CreateCommand", "Name 100 KB"): pin(403, "CmdName.ExceedLimit"),
    ("CreateCommand", "Description 513 chars"): pin(403, "CmdDesc.ExceedLimit"),
    ("CreateCommand", "WorkingDir 201 chars"): pin(400, "InvalidParameter.WorkingDir"),
    ("CreateCommand", "Launcher 1025 chars"): pin(403, "InvalidLauncher.LengthLimitExceeded"),
    ("CreateCommand", "Type unknown"): pin(404, "InvalidCmdType.NotFound"),
    ("CreateCommand", "Type unicode"): pin(404, "InvalidCmdType.NotFound"),
    ("CreateCommand", "content not base64"): pin(400, "CmdContent.DecodeError"),
    ("CreateCommand", "content 100 KB"): pin(403, "CmdContent.ExceedLimit"),
    ("ModifyCommand", "CommandId unknown"): pin(404, "InvalidCmdId.NotFound"),
    ("ModifyCommand", "Name 129 chars"): pin(403, "CmdName.ExceedLimit"),
    ("DeleteCommand", "CommandId unknown"): pin(
        404, "InvalidCmdId.NotFound", "InvalidCommandId.NotFound"
    ),
    ("InvokeCommand", "CommandId unknown"): pin(404, "InvalidCmdId.NotFound"),
    ("InvokeCommand", "instance unknown"): pin(404, "InvalidInstance.NotFound"),
    ("InvokeCommand", "101 instances"): pin(403, "InstanceIds.ExceedLimit"),
    ("InvokeCommand", "RepeatMode unknown"): pin(404, "InvalidRepeatMode.NotFound"),
    ("InvokeCommand", "Period without Frequency"): pin(400, "MissingParam.Frequency"),
    ("InvokeCommand", "TerminationMode unknown"): pin(404, "InvalidTerminationMode.NotFound"),
    ("InvokeCommand", "Username 256 chars"): pin(403, "Username.ExceedLimit"),
    ("InvokeCommand", "ContainerId malformed"): pin(400, "InvalidContainerId.Malformed"),
    ("InvokeCommand", "ClientToken 65 chars"): pin(400, "InvalidClientToken.Malformed"),
    ("RunCommand", "Type unknown"): pin(404, "InvalidCmdType.NotFound"),
    ("RunCommand", "instance unknown"): pin(404, "InvalidInstance.NotFound"),
    ("RunCommand", "101 instances"): pin(403, "InstanceIds.ExceedLimit"),
    ("RunCommand", "base64 content invalid"): pin(400, "CmdContent.DecodeError"),
    ("RunCommand", "content 100 KB"): pin(403, "CmdContent.ExceedLimit"),
    ("RunCommand", "Parameters non-string value"): pin(403, "ParameterType.NotSupported"),
    ("RunCommand", "Period without Frequency"): pin(400, "MissingParam.Frequency"),
    ("StopInvocation", "InvokeId unknown"): pin(404, "InvalidInvokeId.NotFound"),
    ("StopInvocation", "51 instances"): pin(403, "InstanceIds.ExceedLimit"),
    ("ModifyInvocationAttribute", "InvokeId unknown"): pin(404, "InvalidInvokeId.NotFound"),
    ("ListTagResources", "Tag value without key"): pin(None, "InvalidParameter.TagValue"),
}
for _action in ("DescribeCommands", "DescribeInvocations", "DescribeInvocationResults"):
    for _value in ("0", "51", "-1"):
        PINNED[(_action, f"PageSize={_value}")] = pin(403, "InvalidParam.PageSize")
    PINNED[(_action, "PageNumber=0")] = pin(403, "InvalidParam.PageNumber")


def case_ids() -> Iterator[Any]:
    for action, names in MISSING.items():
        for name in names:
            drop: Params = {k: None for k in BASES[action] if k.split(".")[0] == name}
            drop[name] = None
            yield pytest.param(action, f"missing {name}", drop, id=f"{action}-no-{name}")
    for action, cases in BAD.items():
        for label, change in cases:
            yield pytest.param(action, label, change, id=f"{action}-{label}")


def test_every_pinned_code_names_a_case() -> None:
    cases = {(p.values[0], p.values[1]) for p in case_ids()}
    assert set(PINNED) <= cases, set(PINNED) - cases


# Only scheduled tasks can be modified and the controller has none yet, so
# ModifyInvocationAttribute has no unbroken request to check.
@pytest.mark.parametrize("action", [a for a in ACTIONS if a != "ModifyInvocationAttribute"])
def test_base_request_is_accepted(world: World, action: str) -> None:
    """Sanity: the unbroken request of each action succeeds, so a 4xx below is the mutation's."""
    body = world.ok(action, BASES[action])
    assert isinstance(body["RequestId"], str)


@pytest.mark.parametrize(("action", "label", "change"), list(case_ids()))
def test_bad_input_gets_4xx_error_shape(
    world: World, action: str, label: str, change: Params
) -> None:
    resp = world.call(action, {**BASES[action], **change})  # a None value removes the param
    body = error_body(resp)
    if label.startswith("missing "):
        assert body["Code"].startswith("Missing"), describe(resp)
    status, codes = PINNED.get((action, label), (None, frozenset()))
    if status:
        assert resp.status_code == status, describe(resp)
    if codes:
        assert body["Code"] in codes, describe(resp)


# --- protocol-level errors (§1.1, §1.7) -----------------------------------------------------


@pytest.mark.parametrize("signature", ["v1", "v3"])
def test_unknown_action_is_404(controller: InProcessController, signature: str) -> None:
    resp = rpc(controller, {"Action": "LaunchRocket", "RegionId": REGION}, signature=signature)
    expect_error(resp, 404, "InvalidAction.NotFound")


@pytest.mark.parametrize("signature", ["v1", "v3"])
def test_wrong_version_is_400(controller: InProcessController, signature: str) -> None:
    params: Params = {"Action": "DescribeCommands", "Version": "2099-01-01", "RegionId": REGION}
    expect_error(rpc(controller, params, signature=signature), 400, "InvalidVersion")


@pytest.mark.parametrize("signature", ["v1", "v3"])
def test_missing_action_is_400(controller: InProcessController, signature: str) -> None:
    resp = rpc(controller, {"Action": None, "RegionId": REGION}, signature=signature)
    expect_error(resp, 400, "MissingParameter")


def test_missing_version_is_400(controller: InProcessController) -> None:
    params: Params = {"Action": "DescribeCommands", "Version": None, "RegionId": REGION}
    expect_error(rpc(controller, params), 400, "MissingParameter")


@pytest.mark.parametrize(
    ("label", "method", "query", "body", "headers"),
    [
        ("nothing at all", "POST", "", b"", {}),
        ("GET nothing", "GET", "", b"", {}),
        ("PUT", "PUT", "Action=DescribeCommands", b"", {}),
        ("DELETE", "DELETE", "Action=DescribeCommands", b"", {}),
        ("bad percent-encoding", "GET", "%ZZ%=&&&===&Action=%E0%80", b"", {}),
        (
            "binary form body",
            "POST",
            "",
            b"\xff\xfe\x00garbage=\xff&&=",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        (
            "JSON body",
            "POST",
            "",
            b'{"Action": "DescribeCommands", "RegionId": "cn-hangzhou"}',
            {"Content-Type": "application/json"},
        ),
        (
            "garbage ACS3 authorization",
            "POST",
            "RegionId=cn-hangzhou",
            b"",
            {"Authorization": "ACS3-HMAC-SHA256 garbage", "x-acs-action": "DescribeCommands"},
        ),
        (
            "ACS3 authorization without SignedHeaders",
            "POST",
            "RegionId=cn-hangzhou",
            b"",
            {
                "Authorization": "ACS3-HMAC-SHA256 Credential=x,Signature=00",
                "x-acs-action": "DescribeCommands",
                "x-acs-version": "2014-05-26",
            },
        ),
        (
            "unknown V3 algorithm",
            "POST",
            "RegionId=cn-hangzhou",
            b"",
            {
                "Authorization": "ACS9-ROT13 Credential=x,SignedHeaders=host,Signature=00",
                "x-acs-action": "DescribeCommands",
                "x-acs-version": "2014-05-26",
            },
        ),
    ],
)
def test_garbage_requests_get_error_shape(
    controller: InProcessController,
    label: str,
    method: str,
    query: str,
    body: bytes,
    headers: dict[str, str],
) -> None:
    req = build(controller.url, None, None, {}, method=method)
    req.raw_query, req.body = query, body
    req.headers = dict(headers)
    error_body(controller.send(req))


def test_unsupported_signature_method_is_400(controller: InProcessController) -> None:
    params: Params = {"Action": "DescribeCommands", "RegionId": REGION}
    resp = rpc(controller, {**params, "SignatureMethod": "HMAC-MD5"})
    assert resp.status_code == 400, describe(resp)
    error_body(resp)


# --- transport: GET, form bodies, long URLs (§1, §9.1) ----------------------------------------


@pytest.mark.parametrize("signature", ["v1", "v3"])
def test_get_works_like_post(world: World, signature: str) -> None:
    params: Params = {"Action": "DescribeCommands", "RegionId": REGION, "CommandId": CMD}
    by_post = ok_body(rpc(world.ctl, world.resolve(params), signature=signature))
    by_get = ok_body(rpc(world.ctl, world.resolve(params), signature=signature, method="GET"))
    by_post.pop("RequestId")
    by_get.pop("RequestId")
    assert by_get == by_post
    assert by_get["TotalCount"] == 1


@pytest.mark.parametrize("signature", ["v1", "v3"])
def test_form_body_params_are_merged_and_signed(
    controller: InProcessController, signature: str
) -> None:
    name = f"form-body-{signature}-{random.randrange(10**9)}"
    params: Params = {"Action": "CreateCommand", "RegionId": REGION, "Name": name}
    params |= {"Type": "RunShellScript", "CommandContent": b64("echo form"), "Timeout": "77"}
    req = build(
        controller.url,
        controller.access_key_id,
        controller.access_key_secret,
        params,
        signature=signature,
        body_params=True,
    )
    assert isinstance(req.body, dict) and "Name" in req.body and "Name" not in req.query
    command_id = ok_body(controller.send(req))["CommandId"]
    found = ok_body(
        rpc(
            controller,
            {"Action": "DescribeCommands", "RegionId": REGION, "CommandId": str(command_id)},
        )
    )
    commands = found["Commands"]
    assert isinstance(commands, dict)
    [command] = commands["Command"]
    assert (command["Name"], command["Timeout"]) == (name, 77)


def test_everything_in_the_form_body_is_accepted(controller: InProcessController) -> None:
    """Query and body are merged (§1, §9.1): even the signing parameters may travel in the body."""
    req = build(controller.url, controller.access_key_id, controller.access_key_secret, {})
    req.query, req.body = {}, {**req.query, "Action": "DescribeCommands", "RegionId": REGION}
    req.body.pop("Signature")
    req.string_to_sign = ""
    sign_v1(req, controller.access_key_secret)
    req.body["Signature"] = req.query.pop("Signature")
    req.headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert req.url == req.base_url
    assert "Commands" in ok_body(controller.send(req))


@pytest.mark.parametrize("signature", ["v1", "v3"])
def test_form_content_type_with_charset_is_parsed(
    controller: InProcessController, signature: str
) -> None:
    params: Params = {"Action": "DescribeCommands", "RegionId": REGION, "PageSize": "7"}
    req = build(
        controller.url,
        controller.access_key_id,
        controller.access_key_secret,
        params,
        signature=signature,
        body_params=True,
        extra_headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert req.headers["Content-Type"].endswith("charset=UTF-8")
    assert ok_body(controller.send(req))["PageSize"] == 7


def test_form_body_params_are_covered_by_the_v1_signature(controller: InProcessController) -> None:
    params: Params = {"Action": "DescribeCommands", "RegionId": REGION, "Name": "a*"}
    req = build(
        controller.url,
        controller.access_key_id,
        controller.access_key_secret,
        params,
        body_params=True,
    )
    assert isinstance(req.body, dict)
    req.body["Name"] = "b*"  # changed after signing
    expect_error(controller.send(req), 400, "SignatureDoesNotMatch")


def test_24kb_base64_content_in_the_url_is_accepted(world: World) -> None:
    rng = random.Random(24)
    script = "".join(rng.choice(string.printable) for _ in range(18_000))
    content = b64(script)
    assert len(content) == 24_000
    params: Params = {"Type": "RunShellScript", "CommandContent": content}
    params |= {"ContentEncoding": "Base64", "InstanceId.1": INST}
    req_len = len(build(world.ctl.url, "k", "s", {"CommandContent": content}).url)
    assert req_len > 24_000
    invoke_id = str(world.ok("RunCommand", params)["InvokeId"])
    found = world.ok("DescribeInvocations", {"InvokeId": invoke_id})
    invocations = found["Invocations"]
    assert isinstance(invocations, dict)
    [invocation] = invocations["Invocation"]
    assert invocation["CommandContent"] == content


def test_success_content_type_is_json(world: World) -> None:
    resp = world.call("DescribeCommands", {})
    assert resp.status_code == 200, describe(resp)
    assert resp.headers["Content-Type"].startswith("application/json")
    assert "Commands" in json_body(resp)


# --- seeded fuzz ------------------------------------------------------------------------------

# Parameter names per action from the §6 tables (plus the §5 common ones).
KNOWN: dict[str, list[str]] = {
    "CreateCommand": [
        "Name",
        "Type",
        "CommandContent",
        "ContentEncoding",
        "Description",
        "WorkingDir",
        "Timeout",
        "EnableParameter",
        "Launcher",
        "ResourceGroupId",
        "Tag.1.Key",
        "Tag.1.Value",
        "ClientToken",
    ],
    "ModifyCommand": ["CommandId", "Name", "Description", "WorkingDir", "Timeout", "Launcher"],
    "DeleteCommand": ["CommandId"],
    "DescribeCommands": [
        "CommandId",
        "Name",
        "Description",
        "Type",
        "Provider",
        "Latest",
        "ContentEncoding",
        "PageNumber",
        "PageSize",
        "MaxResults",
        "NextToken",
        "Tag.1.Key",
        "Tag.1.Value",
    ],
    "InvokeCommand": [
        "CommandId",
        "InstanceId.1",
        "InstanceId.2",
        "RepeatMode",
        "Frequency",
        "Timed",
        "Parameters",
        "Username",
        "Timeout",
        "WorkingDir",
        "ContainerId",
        "ContainerName",
        "TerminationMode",
        "ClientToken",
        "ResourceTag.1.Key",
        "ResourceTag.1.Value",
    ],
    "RunCommand": [
        "Type",
        "CommandContent",
        "ContentEncoding",
        "Name",
        "InstanceId.1",
        "EnableParameter",
        "Parameters",
        "KeepCommand",
        "RepeatMode",
        "Frequency",
        "Timeout",
        "WorkingDir",
        "Username",
        "ClientToken",
        "Tag.1.Key",
    ],
    "StopInvocation": ["InvokeId", "InstanceId.1"],
    "ModifyInvocationAttribute": [
        "InvokeId",
        "CommandContent",
        "ContentEncoding",
        "EnableParameter",
        "Parameters",
        "Frequency",
        "InstanceId.1",
    ],
    "DescribeInvocations": [
        "InvokeId",
        "CommandId",
        "CommandName",
        "CommandType",
        "InstanceId",
        "InvokeStatus",
        "RepeatMode",
        "Timed",
        "IncludeOutput",
        "ContentEncoding",
        "PageNumber",
        "PageSize",
        "MaxResults",
        "NextToken",
    ],
    "DescribeInvocationResults": [
        "InvokeId",
        "InstanceId",
        "CommandId",
        "InvokeRecordStatus",
        "IncludeHistory",
        "ContentEncoding",
        "PageNumber",
        "PageSize",
        "MaxResults",
        "NextToken",
    ],
    "TagResources": ["ResourceType", "ResourceId.1", "Tag.1.Key", "Tag.1.Value", "Tag.2.Key"],
    "UntagResources": ["ResourceType", "ResourceId.1", "TagKey.1", "All"],
    "ListTagResources": [
        "ResourceType",
        "ResourceId.1",
        "Tag.1.Key",
        "Tag.1.Value",
        "TagFilter.1.TagKey",
        "TagFilter.1.TagValues.1",
        "NextToken",
    ],
}
COMMON = ["RegionId", "OwnerId", "ResourceOwnerAccount", "Version", "Format"]
ODD_NAMES = [
    "Foo",
    "InstanceId.0",
    "InstanceId.-1",
    "InstanceId.99999999999999999999",
    "Tag.1.Key.2",
    "Tag..Key",
    "Tag.x.Value",
    "ResourceId.",
    ".",
    "名前",
    "a b",
]
VALUES = [
    "",
    "abc",
    "0",
    "-1",
    "51",
    "101",
    "1e3",
    "9" * 30,
    "True",
    "false",
    "maybe",
    "null",
    "{",
    '{"a":1}',
    '{"a":"b"}',
    "[]",
    "a\nb",
    "\x00",
    "' OR 1=1 --",
    "%00",
    "rate(1s)",
    "0 */20 * * * *",
    "Period",
    "PlainText",
    "RunShellScript",
    "c-doesnotexist",
    "t-doesnotexist",
    "x" * 3000,
]


def random_text(rng: random.Random) -> str:
    ranges = [(0x20, 0x7E), (0xA0, 0x2FF), (0x400, 0x4FF), (0x4E00, 0x4FFF), (0x1F600, 0x1F64F)]
    out = []
    for _ in range(rng.randint(1, 40)):
        low, high = rng.choice(ranges)
        out.append(chr(rng.randint(low, high)))
    return "".join(out)


def fuzz_params(rng: random.Random, action: str, resolve: Callable[[Params], Params]) -> Params:
    params: Params = {"RegionId": REGION, **BASES[action]}
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.2 and params:
            params[rng.choice(sorted(params))] = None
            continue
        if roll < 0.7:
            name = rng.choice(KNOWN[action] + COMMON)
        else:
            name = rng.choice(ODD_NAMES) if rng.random() < 0.6 else random_text(rng)
        params[name] = rng.choice(VALUES) if rng.random() < 0.7 else random_text(rng)
    return {"Action": action, **resolve(params)}


QUERY_TAILS = ["&", "&=", "&&=x", "&%ZZ", "&a=%E0%80", "&%FF=%FE", "&Signature=x", "&Action="]


def header_safe(value: str | None) -> bool:
    """V3 puts Version in a header: only fuzz it there with printable ASCII."""
    return value is None or all(" " <= ch <= "~" for ch in value)


def test_seeded_fuzz_never_5xx(start_app: StartApp) -> None:
    fuzz_world = World.make(start_app(), "fuzz")
    ctl = fuzz_world.ctl
    rng = random.Random(20140526)
    failures: list[str] = []
    for i in range(300):
        action = rng.choice(ACTIONS)
        params = fuzz_params(rng, action, fuzz_world.resolve)
        method = rng.choice(["POST", "POST", "GET"])
        signature = "v3" if rng.random() < 0.25 and header_safe(params.get("Version")) else "v1"
        body_params = method == "POST" and rng.random() < 0.3
        req = build(
            ctl.url,
            ctl.access_key_id,
            ctl.access_key_secret,
            params,
            method=method,
            signature=signature,
            body_params=body_params,
        )
        if rng.random() < 0.1:  # a broken tail after signing
            req.raw_query = encode_pairs(req.query) + rng.choice(QUERY_TAILS)
        resp = ctl.send(req)
        try:
            if resp.status_code == 200:
                ok_body(resp)
            else:
                error_body(resp)
        except AssertionError as exc:
            shown = json.dumps({k: (v[:60] if v else v) for k, v in params.items()})
            tail = (req.raw_query or "")[-40:]
            failures.append(f"#{i} {method} {signature} {tail!r} {shown}: {exc}")
    assert not failures, f"{len(failures)} bad answers, first ones:\n" + "\n".join(failures[:8])
    assert "Traceback" not in ctl.log(), ctl.log()[-3000:]
