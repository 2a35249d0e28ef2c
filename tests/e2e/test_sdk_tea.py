"""End to end: the Tea SDK alibabacloud-ecs20140526 against the real controller.

Every test runs twice: with the SDK's default ACS3-HMAC-SHA256 signature (V3, action in the
`x-acs-action` header) and with `signature_algorithm='v2'` (V1 HMAC-SHA1 query signature).
Responses are read through the SDK's own response models, so a wrongly shaped response shows up
as a missing attribute. The shared controller is not empty: tests filter by the ids they create.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_tea_openapi.exceptions import ClientException
from conftest import REGION, Controller, StartController, make_tea_client
from sdk_helpers import (
    ECHO_123,
    ECHO_123_B64,
    RETAINED_CONTENT_LIMIT,
    TIMESTAMP_RE,
    UNRETAINED_CONTENT_LIMIT,
    b64,
    b64_of_length,
    unique,
    wait_until,
)

pytestmark = pytest.mark.e2e

SIGNATURES = ["v3", "v1"]


# --------------------------------------------------------------------------- helpers


def call(client: Any, action: str, **fields: Any) -> Any:
    """client.<action>(ecs.<Action>Request(region_id=REGION, **fields)).body, checked for 200."""
    method = re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
    request = getattr(ecs, f"{action}Request")(region_id=REGION, **fields)
    response = getattr(client, method)(request)
    assert response.status_code == 200
    assert response.body.request_id
    return response.body


def expect_error(
    client: Any, action: str, code: str, status: int, **fields: Any
) -> ClientException:
    with pytest.raises(ClientException) as info:
        call(client, action, **fields)
    err = info.value
    assert (err.code, err.status_code) == (code, status), err.message
    assert err.data["Code"] == code
    assert err.request_id
    return err


def create_command(client: Any, **fields: Any) -> str:
    fields = {
        "name": unique("tea"),
        "type": "RunShellScript",
        "command_content": ECHO_123_B64,
        **fields,
    }
    command_id: str = call(client, "CreateCommand", **fields).command_id
    assert command_id.startswith("c-")
    return command_id


def describe_commands(client: Any, **fields: Any) -> list[Any]:
    commands: list[Any] = call(client, "DescribeCommands", **fields).commands.command
    return commands


def the_command(client: Any, command_id: str, **fields: Any) -> Any:
    (command,) = describe_commands(client, command_id=command_id, **fields)
    return command


def invoke(client: Any, command_id: str, instance_ids: list[str], **fields: Any) -> str:
    invoke_id: str = call(
        client, "InvokeCommand", command_id=command_id, instance_id=instance_ids, **fields
    ).invoke_id
    assert invoke_id.startswith("t-")
    return invoke_id


def the_invocation(client: Any, invoke_id: str, **fields: Any) -> Any:
    (invocation,) = call(
        client, "DescribeInvocations", invoke_id=invoke_id, **fields
    ).invocations.invocation
    assert invocation.invoke_id == invoke_id
    return invocation


def per_instance(invocation: Any) -> dict[str, Any]:
    return {i.instance_id: i for i in invocation.invoke_instances.invoke_instance}


def invocation_results(client: Any, invoke_id: str) -> list[Any]:
    body = call(client, "DescribeInvocationResults", invoke_id=invoke_id)
    results: list[Any] = body.invocation.invocation_results.invocation_result
    return results


@pytest.fixture(params=SIGNATURES)
def client(request: pytest.FixtureRequest, controller: Controller) -> Any:
    return make_tea_client(controller, v1=request.param == "v1")


@pytest.fixture(scope="module")
def instances(controller: Controller) -> list[str]:
    """Two managed instances without an agent: their invocations stay Pending."""
    return [controller.add_instance(name="tea-sdk-a"), controller.add_instance(name="tea-sdk-b")]


# --------------------------------------------------------------------------- commands


def test_create_command_and_describe_by_id(client: Any) -> None:
    name = unique("tea-create")
    command_id = create_command(client, name=name, description="prints 123", timeout=30)
    command = the_command(client, command_id)
    assert (command.command_id, command.name, command.type) == (command_id, name, "RunShellScript")
    assert (command.description, command.timeout) == ("prints 123", 30)
    assert command.command_content == ECHO_123_B64  # DescribeCommands defaults to Base64
    assert TIMESTAMP_RE.match(command.creation_time)


@pytest.mark.parametrize(
    ("create_encoding", "content", "describe_encoding", "expected"),
    [
        (None, ECHO_123_B64, "PlainText", ECHO_123),
        ("PlainText", ECHO_123, None, ECHO_123_B64),
        ("Base64", ECHO_123_B64, "Base64", ECHO_123_B64),
    ],
)
def test_content_encoding_round_trip(
    client: Any,
    create_encoding: str | None,
    content: str,
    describe_encoding: str | None,
    expected: str,
) -> None:
    command_id = create_command(client, command_content=content, content_encoding=create_encoding)
    command = the_command(client, command_id, content_encoding=describe_encoding)
    assert command.command_content == expected


def test_describe_commands_name_wildcard_and_type(client: Any) -> None:
    prefix = unique("tea-wild")
    ids = {
        kind: create_command(client, name=f"{prefix}-{kind}", type=kind)
        for kind in ("RunShellScript", "RunPowerShellScript")
    }
    everything = describe_commands(client, name=f"{prefix}*")
    assert {c.command_id for c in everything} == set(ids.values())
    powershell = describe_commands(client, name=f"{prefix}*", type="RunPowerShellScript")
    assert [c.command_id for c in powershell] == [ids["RunPowerShellScript"]]


@pytest.mark.parametrize("style", ["page-number", "next-token"])
def test_describe_commands_paging(client: Any, style: str) -> None:
    prefix = unique("tea-page")
    created = {create_command(client, name=f"{prefix}-{n}") for n in range(3)}
    sizes: list[int] = []
    seen: list[str] = []
    page_number, token = 1, None
    while len(sizes) < 5:
        if style == "page-number":
            body = call(
                client, "DescribeCommands", name=f"{prefix}*", page_size=2, page_number=page_number
            )
            assert (body.page_number, body.page_size, body.total_count) == (page_number, 2, 3)
        else:
            body = call(
                client, "DescribeCommands", name=f"{prefix}*", max_results=2, next_token=token
            )
        sizes.append(len(body.commands.command))
        seen += [c.command_id for c in body.commands.command]
        page_number, token = page_number + 1, body.next_token
        if (style == "page-number" and len(seen) >= body.total_count) or (
            style == "next-token" and not token
        ):
            break
    assert sizes == [2, 1]
    assert sorted(seen) == sorted(created)


def test_modify_command(client: Any) -> None:
    command_id = create_command(client)
    name = unique("tea-modified")
    call(
        client,
        "ModifyCommand",
        command_id=command_id,
        name=name,
        description="changed",
        timeout=300,
        working_dir="/var/tmp",
    )
    command = the_command(client, command_id)
    assert (command.name, command.description) == (name, "changed")
    assert (command.timeout, command.working_dir) == (300, "/var/tmp")


def test_delete_command(client: Any) -> None:
    command_id = create_command(client)
    call(client, "DeleteCommand", command_id=command_id)
    body = call(client, "DescribeCommands", command_id=command_id)
    assert (body.commands.command, body.total_count) == ([], 0)
    expect_error(client, "DeleteCommand", "InvalidCmdId.NotFound", 404, command_id=command_id)


# --------------------------------------------------------------------------- invocations


def test_invoke_command_and_describe_invocations(client: Any, instances: list[str]) -> None:
    name = unique("tea-invoke")
    command_id = create_command(client, name=name)
    invoke_id = invoke(client, command_id, instances, timed=False)

    invocation = the_invocation(client, invoke_id)
    assert (invocation.command_id, invocation.command_name) == (command_id, name)
    assert invocation.command_type == "RunShellScript"
    assert invocation.invocation_status == "Pending"
    assert TIMESTAMP_RE.match(invocation.creation_time)
    records = per_instance(invocation)
    assert sorted(records) == sorted(instances)
    assert {r.invocation_status for r in records.values()} == {"Pending"}


def test_invocation_tags(client: Any, instances: list[str]) -> None:
    key = unique("batch")
    tag = ecs.InvokeCommandRequestTag(key=key, value="nightly")
    invoke_id = invoke(client, create_command(client), instances[:1], tag=[tag])
    tags = the_invocation(client, invoke_id).tags.tag
    assert [(t.tag_key, t.tag_value) for t in tags] == [(key, "nightly")]


def test_describe_invocation_results(client: Any, instances: list[str]) -> None:
    command_id = create_command(client)
    invoke_id = invoke(client, command_id, instances)
    results = invocation_results(client, invoke_id)
    assert len(results) == len(instances)
    assert {r.instance_id for r in results} == set(instances)
    assert {(r.invoke_id, r.command_id, r.invocation_status) for r in results} == {
        (invoke_id, command_id, "Pending")
    }


def test_describe_invocation_results_unknown_invoke_id(client: Any) -> None:
    assert invocation_results(client, "t-unknowninvoke01") == []


@pytest.mark.parametrize("keep", [True, False])
def test_run_command(client: Any, instances: list[str], keep: bool) -> None:
    body = call(
        client,
        "RunCommand",
        type="RunShellScript",
        command_content=ECHO_123,  # RunCommand's default encoding is PlainText
        instance_id=instances[:1],
        keep_command=keep,
        name=unique("tea-run"),
    )
    assert body.command_id.startswith("c-")
    assert body.invoke_id.startswith("t-")
    kept = describe_commands(client, command_id=body.command_id, content_encoding="PlainText")
    if keep:
        assert [(c.command_id, c.command_content) for c in kept] == [(body.command_id, ECHO_123)]
    else:
        assert kept == []
    assert the_invocation(client, body.invoke_id).command_content == ECHO_123_B64


def test_stop_invocation(client: Any, instances: list[str]) -> None:
    invoke_id = invoke(client, create_command(client), instances)
    call(client, "StopInvocation", invoke_id=invoke_id)
    invocation = wait_until(
        lambda: the_invocation(client, invoke_id),
        lambda inv: inv.invocation_status not in ("Pending", "Stopping"),
        timeout=5,
        what="StopInvocation to take effect",
    )
    assert (invocation.invocation_status, invocation.invoke_status) == ("Stopped", "Stopped")
    assert {r.invocation_status for r in per_instance(invocation).values()} == {"Cancelled"}


def test_stop_unknown_invocation(client: Any) -> None:
    expect_error(
        client, "StopInvocation", "InvalidInvokeId.NotFound", 404, invoke_id="t-unknowninvoke02"
    )


def test_modify_invocation_attribute_once(client: Any, instances: list[str]) -> None:
    invoke_id = invoke(client, create_command(client), instances[:1], repeat_mode="Once")
    expect_error(
        client,
        "ModifyInvocationAttribute",
        "InvalidOperation.RepeatModeUnsupported",
        403,
        invoke_id=invoke_id,
        parameters={"name": "y"},
        enable_parameter=True,
    )


@pytest.fixture(scope="module")
def fast_abort_controller(start_controller: StartController) -> Controller:
    return start_controller("--delivery-timeout", "1")


@pytest.mark.parametrize("signature", SIGNATURES)
def test_delivery_timeout(fast_abort_controller: Controller, signature: str) -> None:
    ctl = fast_abort_controller
    tea = make_tea_client(ctl, v1=signature == "v1")
    instance = ctl.add_instance(name="tea-sdk-offline")
    invoke_id = invoke(tea, create_command(tea), [instance])

    invocation = wait_until(
        lambda: the_invocation(tea, invoke_id),
        lambda inv: inv.invocation_status != "Pending",
        timeout=15,
        what="the delivery timeout",
    )
    record = per_instance(invocation)[instance]
    assert (record.invocation_status, record.error_code) == ("Aborted", "DeliveryTimeout")
    assert record.instance_invoke_status == "Failed"
    assert (invocation.invocation_status, invocation.invoke_status) == ("Failed", "Failed")
    (result,) = invocation_results(tea, invoke_id)
    assert (result.invocation_status, result.invoke_record_status) == ("Aborted", "Failed")
    assert result.error_code == "DeliveryTimeout"


# --------------------------------------------------------------------------- custom parameters


def test_custom_parameters(client: Any, instances: list[str]) -> None:
    command_id = create_command(
        client, enable_parameter=True, command_content=b64("echo {{name}} {{ACS::InstanceId}}")
    )
    command = the_command(client, command_id)
    assert command.enable_parameter is True
    assert command.parameter_names.parameter_name == ["name"]  # built-in ACS:: names excluded

    invoke_id = invoke(client, command_id, instances[:1], parameters={"name": "x"})
    parameters = the_invocation(client, invoke_id).parameters
    assert isinstance(parameters, str)  # a JSON document in a string, not an object
    assert json.loads(parameters) == {"name": "x"}


@pytest.mark.parametrize(
    ("enable", "parameters", "code", "status"),
    [
        (True, {}, "Parameter.MissingValue", 400),
        (True, {"name": "x", "extra": "y"}, "Parameter.NotMatched", 403),
        (False, {"name": "x"}, "Parameter.Disabled", 400),
    ],
    ids=["missing-value", "unknown-key", "disabled"],
)
def test_parameter_errors(
    client: Any,
    instances: list[str],
    enable: bool,
    parameters: dict[str, str],
    code: str,
    status: int,
) -> None:
    command_id = create_command(
        client, enable_parameter=enable, command_content=b64("echo {{name}}")
    )
    expect_error(
        client,
        "InvokeCommand",
        code,
        status,
        command_id=command_id,
        instance_id=instances[:1],
        parameters=parameters,
    )


# --------------------------------------------------------------------------- idempotency


def test_run_command_client_token(client: Any, instances: list[str]) -> None:
    token = unique("tea-token")
    fields = {"type": "RunShellScript", "command_content": ECHO_123, "client_token": token}
    first = call(client, "RunCommand", instance_id=instances[:1], **fields)
    again = call(client, "RunCommand", instance_id=instances[:1], **fields)
    assert (again.command_id, again.invoke_id) == (first.command_id, first.invoke_id)
    expect_error(
        client, "RunCommand", "IdempotentParameterMismatch", 403, instance_id=instances, **fields
    )


def test_invoke_command_client_token(client: Any, instances: list[str]) -> None:
    command_id, token = create_command(client), unique("tea-token")
    first = invoke(client, command_id, instances, client_token=token)
    assert invoke(client, command_id, instances, client_token=token) == first
    expect_error(
        client,
        "InvokeCommand",
        "IdempotentParameterMismatch",
        403,
        command_id=command_id,
        instance_id=instances,
        client_token=token,
        timeout=99,
    )


# --------------------------------------------------------------------------- tags


def test_command_tags_and_tag_filter(client: Any) -> None:
    prefix, key = unique("tea-tags"), unique("cost-center")
    tagged = create_command(
        client, name=f"{prefix}-1", tag=[ecs.CreateCommandRequestTag(key=key, value="42")]
    )
    create_command(client, name=f"{prefix}-2")
    tags = the_command(client, tagged).tags.tag
    assert [(t.tag_key, t.tag_value) for t in tags] == [(key, "42")]
    match = ecs.DescribeCommandsRequestTag(key=key, value="42")
    assert [c.command_id for c in describe_commands(client, name=f"{prefix}*", tag=[match])] == [
        tagged
    ]


def _tag_rows(client: Any, resource_type: str, resource_id: str) -> set[tuple[str, ...]]:
    body = call(client, "ListTagResources", resource_type=resource_type, resource_id=[resource_id])
    return {
        (r.resource_id, r.resource_type, r.tag_key, r.tag_value)
        for r in body.tag_resources.tag_resource
    }


@pytest.mark.parametrize("resource_type", ["command", "invocation"])
def test_tag_resources_lifecycle(client: Any, instances: list[str], resource_type: str) -> None:
    if resource_type == "command":
        resource_id = create_command(client)
    else:
        resource_id = invoke(client, create_command(client), instances[:1])
    a, b, c = (unique(k) for k in "abc")
    tags = [ecs.TagResourcesRequestTag(key=k, value=v) for k, v in ((a, "1"), (b, "2"), (c, ""))]
    call(client, "TagResources", resource_type=resource_type, resource_id=[resource_id], tag=tags)
    assert _tag_rows(client, resource_type, resource_id) == {
        (resource_id, resource_type, a, "1"),
        (resource_id, resource_type, b, "2"),
        (resource_id, resource_type, c, ""),
    }

    untag = {"resource_type": resource_type, "resource_id": [resource_id]}
    call(client, "UntagResources", tag_key=[a], **untag)
    assert {row[2] for row in _tag_rows(client, resource_type, resource_id)} == {b, c}
    call(client, "UntagResources", all=True, **untag)
    assert _tag_rows(client, resource_type, resource_id) == set()


# --------------------------------------------------------------------------- error paths


@pytest.mark.parametrize("signature", SIGNATURES)
def test_wrong_secret(controller: Controller, signature: str) -> None:
    bad = make_tea_client(controller, v1=signature == "v1", secret="definitely-wrong")
    expect_error(bad, "DescribeCommands", "SignatureDoesNotMatch", 400)


@pytest.mark.parametrize("signature", SIGNATURES)
def test_unknown_access_key_id(controller: Controller, signature: str) -> None:
    stranger = dataclasses.replace(controller, access_key_id="LTAI-unknown-key")
    bad = make_tea_client(stranger, v1=signature == "v1")
    expect_error(bad, "DescribeCommands", "InvalidAccessKeyId.NotFound", 404)


def test_missing_type_is_named(client: Any) -> None:
    err = expect_error(
        client, "CreateCommand", "MissingParameter", 400, name="x", command_content=ECHO_123_B64
    )
    assert "Type" in err.data["Message"]


@pytest.mark.parametrize(
    ("field", "value", "code", "status"),
    [
        ("command_content", "%%%not-base64%%%", "CmdContent.DecodeError", 400),
        ("command_content", "A" * (RETAINED_CONTENT_LIMIT + 4), "CmdContent.ExceedLimit", 403),
        ("type", "RunPerlScript", "InvalidCmdType.NotFound", 404),
        ("name", "N" * 129, "CmdName.ExceedLimit", 403),
        ("description", "D" * 513, "CmdDesc.ExceedLimit", 403),
        ("timeout", 5, "InvalidTimeout.ExceedLimit", 403),
    ],
)
def test_create_command_validation(
    client: Any, field: str, value: Any, code: str, status: int
) -> None:
    fields: dict[str, Any] = {"name": "v", "type": "RunShellScript", "command_content": "ZQ=="}
    expect_error(client, "CreateCommand", code, status, **{**fields, field: value})


def test_create_command_content_at_limit(client: Any) -> None:
    content = b64_of_length(RETAINED_CONTENT_LIMIT)
    command_id = create_command(client, command_content=content)
    assert the_command(client, command_id).command_content == content


@pytest.mark.parametrize("over", [0, 4])
def test_run_command_unretained_content_limit(client: Any, instances: list[str], over: int) -> None:
    fields = {
        "type": "RunShellScript",
        "content_encoding": "Base64",
        "command_content": b64_of_length(UNRETAINED_CONTENT_LIMIT + over),
        "instance_id": instances[:1],
    }
    if over:
        expect_error(client, "RunCommand", "CmdContent.ExceedLimit", 403, **fields)
    else:
        assert call(client, "RunCommand", **fields).invoke_id.startswith("t-")


@pytest.mark.parametrize(
    ("case", "code", "status"),
    [
        ("unknown-command", "InvalidCmdId.NotFound", 404),
        ("unknown-instance", "InvalidInstance.NotFound", 404),
        ("no-instance", "MissingParam.InstanceId", 400),
        ("101-instances", "InstanceIds.ExceedLimit", 403),
    ],
)
def test_invoke_command_validation(
    client: Any, instances: list[str], case: str, code: str, status: int
) -> None:
    fields: dict[str, Any] = {"command_id": create_command(client), "instance_id": instances}
    if case == "unknown-command":
        fields["command_id"] = "c-unknowncommand1"
    elif case == "unknown-instance":
        fields["instance_id"] = [instances[0], "mi-unknownhost01"]
    elif case == "no-instance":
        del fields["instance_id"]
    else:
        fields["instance_id"] = [f"i-{n:020d}" for n in range(101)]
    expect_error(client, "InvokeCommand", code, status, **fields)


@pytest.mark.parametrize("action", ["DescribeCommands", "DescribeInvocationResults"])
def test_page_size_limit(client: Any, action: str) -> None:
    expect_error(client, action, "InvalidParam.PageSize", 403, page_size=51)
