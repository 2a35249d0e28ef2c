"""End to end: the legacy aliyun-python-sdk-core + aliyun-python-sdk-ecs SDK (signature V1).

Every request goes through `AcsClient.do_action_with_exception` exactly as a user would write it;
only the endpoint and the access key point at the real controller. The shared controller is not
empty, so every test creates its own, uniquely named resources and filters by their ids.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import AcsRequest
from conftest import REGION, Controller, StartController
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

Json = dict[str, Any]


# --------------------------------------------------------------------------- helpers


def make_core_client(
    ctl: Controller, *, key_id: str | None = None, secret: str | None = None
) -> Any:
    client = AcsClient(key_id or ctl.access_key_id, secret or ctl.access_key_secret, REGION)
    client.add_endpoint(REGION, "Ecs", ctl.endpoint)
    return client


def acs_request(action: str, **params: Any) -> AcsRequest:
    """`aliyunsdkecs...<Action>Request()` with `set_<Name>(value)` called for every keyword."""
    module = importlib.import_module(f"aliyunsdkecs.request.v20140526.{action}Request")
    request: AcsRequest = getattr(module, f"{action}Request")()
    for name, value in params.items():
        getattr(request, f"set_{name}")(value)
    return request


def call(client: Any, action: str, **params: Any) -> Json:
    body = client.do_action_with_exception(acs_request(action, **params))
    result: Json = json.loads(body)
    assert result["RequestId"]
    return result


def expect_error(
    client: Any, action: str, code: str, status: int, **params: Any
) -> ServerException:
    with pytest.raises(ServerException) as info:
        client.do_action_with_exception(acs_request(action, **params))
    err = info.value
    assert (err.get_error_code(), err.get_http_status()) == (code, status), err.get_error_msg()
    assert err.get_request_id()
    return err


def create_command(client: Any, **params: Any) -> str:
    params = {
        "Name": unique("core"),
        "Type": "RunShellScript",
        "CommandContent": ECHO_123_B64,
        **params,
    }
    command_id: str = call(client, "CreateCommand", **params)["CommandId"]
    assert command_id.startswith("c-")
    return command_id


def describe_commands(client: Any, **params: Any) -> list[Json]:
    commands: list[Json] = call(client, "DescribeCommands", **params)["Commands"]["Command"]
    return commands


def the_command(client: Any, command_id: str, **params: Any) -> Json:
    (command,) = describe_commands(client, CommandId=command_id, **params)
    return command


def invoke(client: Any, command_id: str, instance_ids: list[str], **params: Any) -> str:
    invoke_id: str = call(
        client, "InvokeCommand", CommandId=command_id, InstanceIds=instance_ids, **params
    )["InvokeId"]
    assert invoke_id.startswith("t-")
    return invoke_id


def the_invocation(client: Any, invoke_id: str, **params: Any) -> Json:
    body = call(client, "DescribeInvocations", InvokeId=invoke_id, **params)
    (invocation,) = body["Invocations"]["Invocation"]
    assert invocation["InvokeId"] == invoke_id
    return invocation


def per_instance(invocation: Json) -> dict[str, Json]:
    return {i["InstanceId"]: i for i in invocation["InvokeInstances"]["InvokeInstance"]}


def invocation_results(client: Any, invoke_id: str) -> list[Json]:
    body = call(client, "DescribeInvocationResults", InvokeId=invoke_id)
    results: list[Json] = body["Invocation"]["InvocationResults"]["InvocationResult"]
    return results


@pytest.fixture(scope="module")
def instances(controller: Controller) -> list[str]:
    """Two managed instances without an agent: their invocations stay Pending."""
    return [controller.add_instance(name="core-sdk-a"), controller.add_instance(name="core-sdk-b")]


# --------------------------------------------------------------------------- commands


def test_create_command_and_describe_by_id(core_client: Any) -> None:
    name = unique("core-create")
    command_id = create_command(core_client, Name=name, Description="says 123")
    command = the_command(core_client, command_id)
    assert command["CommandId"] == command_id
    assert command["Name"] == name
    assert command["Description"] == "says 123"
    assert command["Type"] == "RunShellScript"
    assert command["CommandContent"] == ECHO_123_B64
    assert command["EnableParameter"] is False
    assert TIMESTAMP_RE.match(command["CreationTime"])


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [(None, ECHO_123_B64), ("Base64", ECHO_123_B64), ("PlainText", ECHO_123)],
)
def test_describe_commands_content_encoding(
    core_client: Any, encoding: str | None, expected: str
) -> None:
    command_id = create_command(core_client)
    params = {"ContentEncoding": encoding} if encoding else {}
    assert the_command(core_client, command_id, **params)["CommandContent"] == expected


def test_describe_commands_name_wildcard_and_type_filter(core_client: Any) -> None:
    prefix = unique("core-wild")
    shell = create_command(core_client, Name=f"{prefix}-sh")
    bat = create_command(core_client, Name=f"{prefix}-bat", Type="RunBatScript")
    create_command(core_client, Name=unique("core-other"))

    by_name = describe_commands(core_client, Name=f"{prefix}*")
    assert {c["CommandId"] for c in by_name} == {shell, bat}

    only_bat = describe_commands(core_client, Name=f"{prefix}*", Type="RunBatScript")
    assert [(c["CommandId"], c["Type"]) for c in only_bat] == [(bat, "RunBatScript")]


@pytest.fixture
def three_commands(core_client: Any) -> tuple[str, set[str]]:
    prefix = unique("core-page")
    return prefix, {create_command(core_client, Name=f"{prefix}-{n}") for n in range(3)}


def test_describe_commands_page_number_paging(
    core_client: Any, three_commands: tuple[str, set[str]]
) -> None:
    prefix, created = three_commands
    pages = [
        call(core_client, "DescribeCommands", Name=f"{prefix}*", PageSize=2, PageNumber=n)
        for n in (1, 2)
    ]
    assert [len(p["Commands"]["Command"]) for p in pages] == [2, 1]
    assert [(p["PageNumber"], p["PageSize"], p["TotalCount"]) for p in pages] == [
        (1, 2, 3),
        (2, 2, 3),
    ]
    assert {c["CommandId"] for p in pages for c in p["Commands"]["Command"]} == created


def test_describe_commands_next_token_paging(
    core_client: Any, three_commands: tuple[str, set[str]]
) -> None:
    prefix, created = three_commands
    first = call(core_client, "DescribeCommands", Name=f"{prefix}*", MaxResults=2)
    assert len(first["Commands"]["Command"]) == 2
    assert first["NextToken"]
    second = call(
        core_client,
        "DescribeCommands",
        Name=f"{prefix}*",
        MaxResults=2,
        NextToken=first["NextToken"],
    )
    assert len(second["Commands"]["Command"]) == 1
    assert not second.get("NextToken")
    seen = [c["CommandId"] for page in (first, second) for c in page["Commands"]["Command"]]
    assert sorted(seen) == sorted(created)


def test_modify_command(core_client: Any) -> None:
    command_id = create_command(core_client, Description="before")
    new_name = unique("core-renamed")
    call(
        core_client,
        "ModifyCommand",
        CommandId=command_id,
        Name=new_name,
        Description="after",
        Timeout=120,
        WorkingDir="/tmp",
    )
    command = the_command(core_client, command_id)
    assert (command["Name"], command["Description"]) == (new_name, "after")
    assert (command["Timeout"], command["WorkingDir"]) == (120, "/tmp")
    assert command["CommandContent"] == ECHO_123_B64


def test_delete_command(core_client: Any) -> None:
    command_id = create_command(core_client)
    call(core_client, "DeleteCommand", CommandId=command_id)
    assert describe_commands(core_client, CommandId=command_id) == []
    expect_error(core_client, "DeleteCommand", "InvalidCmdId.NotFound", 404, CommandId=command_id)


# --------------------------------------------------------------------------- invocations


def test_invoke_command_and_describe_invocations(core_client: Any, instances: list[str]) -> None:
    name = unique("core-invoke")
    command_id = create_command(core_client, Name=name)
    invoke_id = invoke(core_client, command_id, instances, Timed=False)

    invocation = the_invocation(core_client, invoke_id)
    assert (invocation["CommandId"], invocation["CommandName"]) == (command_id, name)
    assert invocation["CommandType"] == "RunShellScript"
    assert invocation["InvocationStatus"] == "Pending"
    assert TIMESTAMP_RE.match(invocation["CreationTime"])
    records = per_instance(invocation)
    assert sorted(records) == sorted(instances)
    for record in records.values():
        assert record["InvocationStatus"] == "Pending"  # no agent has fetched it yet
        assert TIMESTAMP_RE.match(record["CreationTime"])


def test_describe_invocation_results(core_client: Any, instances: list[str]) -> None:
    command_id = create_command(core_client)
    invoke_id = invoke(core_client, command_id, instances)
    results = invocation_results(core_client, invoke_id)
    assert sorted(r["InstanceId"] for r in results) == sorted(instances)
    for result in results:
        assert (result["InvokeId"], result["CommandId"]) == (invoke_id, command_id)
        assert result["InvocationStatus"] == "Pending"
        assert result["InvokeRecordStatus"] == "Running"  # legacy projection of Pending (§3.1)


def test_describe_invocation_results_unknown_invoke_id_is_empty(core_client: Any) -> None:
    assert invocation_results(core_client, "t-doesnotexist0000") == []


@pytest.mark.parametrize("keep", [False, True])
def test_run_command_keep_command(core_client: Any, instances: list[str], keep: bool) -> None:
    body = call(
        core_client,
        "RunCommand",
        Type="RunShellScript",
        CommandContent=ECHO_123,  # PlainText is RunCommand's default encoding
        InstanceIds=instances[:1],
        KeepCommand=keep,
    )
    assert body["CommandId"].startswith("c-")
    assert body["InvokeId"].startswith("t-")
    listed = describe_commands(core_client, CommandId=body["CommandId"])
    assert [c["CommandId"] for c in listed] == ([body["CommandId"]] if keep else [])
    invocation = the_invocation(core_client, body["InvokeId"], ContentEncoding="PlainText")
    assert invocation["CommandContent"] == ECHO_123


def test_stop_pending_invocation(core_client: Any, instances: list[str]) -> None:
    invoke_id = invoke(core_client, create_command(core_client), instances)
    call(core_client, "StopInvocation", InvokeId=invoke_id)
    invocation = wait_until(
        lambda: the_invocation(core_client, invoke_id),
        lambda inv: inv["InvocationStatus"] == "Stopped",
        timeout=5,
        what="the invocation to stop",
    )
    assert invocation["InvokeStatus"] == "Stopped"
    for record in per_instance(invocation).values():
        assert record["InvocationStatus"] == "Cancelled"
        assert record["InstanceInvokeStatus"] == "Stopped"


def test_stop_unknown_invocation(core_client: Any) -> None:
    expect_error(
        core_client, "StopInvocation", "InvalidInvokeId.NotFound", 404, InvokeId="t-nosuchinvoke"
    )


def test_modify_invocation_attribute_of_one_time_task(
    core_client: Any, instances: list[str]
) -> None:
    invoke_id = invoke(core_client, create_command(core_client), instances[:1])
    assert the_invocation(core_client, invoke_id)["RepeatMode"] == "Once"
    expect_error(
        core_client,
        "ModifyInvocationAttribute",
        "InvalidOperation.RepeatModeUnsupported",
        403,
        InvokeId=invoke_id,
        CommandContent="echo 456",
    )


def test_delivery_timeout_aborts(start_controller: StartController) -> None:
    ctl = start_controller("--delivery-timeout", "1")
    client = make_core_client(ctl)
    instance = ctl.add_instance(name="core-sdk-no-agent")
    invoke_id = invoke(client, create_command(client), [instance])

    invocation = wait_until(
        lambda: the_invocation(client, invoke_id),
        lambda inv: per_instance(inv)[instance]["InvocationStatus"] != "Pending",
        timeout=15,
        what="delivery to time out",
    )
    record = per_instance(invocation)[instance]
    assert (record["InvocationStatus"], record["ErrorCode"]) == ("Aborted", "DeliveryTimeout")
    assert record["InstanceInvokeStatus"] == "Failed"
    assert (invocation["InvocationStatus"], invocation["InvokeStatus"]) == ("Failed", "Failed")
    (result,) = invocation_results(client, invoke_id)
    assert (result["InvocationStatus"], result["InvokeRecordStatus"]) == ("Aborted", "Failed")
    assert result["ErrorCode"] == "DeliveryTimeout"


# --------------------------------------------------------------------------- custom parameters


@pytest.fixture
def parameterized_command(core_client: Any) -> str:
    return create_command(
        core_client, EnableParameter=True, CommandContent=b64("echo {{name}} {{ACS::InstanceId}}")
    )


def test_parameter_names_exclude_builtins(core_client: Any, parameterized_command: str) -> None:
    command = the_command(core_client, parameterized_command)
    assert command["EnableParameter"] is True
    assert command["ParameterNames"]["ParameterName"] == ["name"]


@pytest.mark.parametrize(
    "parameters",
    [json.dumps({"name": "x"}), {"name": "x"}],
    ids=["json-string", "python-dict-repr"],
)
def test_invoke_with_parameters(
    core_client: Any, instances: list[str], parameterized_command: str, parameters: Any
) -> None:
    # A dict reaches the wire as its Python repr, {'name': 'x'}: the core SDK's setter does not
    # JSON-encode it (reference §1.3); the controller accepts that form too.
    invoke_id = invoke(core_client, parameterized_command, instances[:1], Parameters=parameters)
    assert json.loads(the_invocation(core_client, invoke_id)["Parameters"]) == {"name": "x"}


@pytest.mark.parametrize(
    ("enable", "parameters", "code", "status"),
    [
        (True, None, "Parameter.MissingValue", 400),
        (True, {"name": "x", "bogus": "y"}, "Parameter.NotMatched", 403),
        (False, {"name": "x"}, "Parameter.Disabled", 400),
    ],
    ids=["missing-value", "unknown-key", "disabled"],
)
def test_invoke_parameter_errors(
    core_client: Any,
    instances: list[str],
    enable: bool,
    parameters: dict[str, str] | None,
    code: str,
    status: int,
) -> None:
    command_id = create_command(
        core_client, EnableParameter=enable, CommandContent=b64("echo {{name}}")
    )
    extra = {"Parameters": json.dumps(parameters)} if parameters is not None else {}
    expect_error(
        core_client,
        "InvokeCommand",
        code,
        status,
        CommandId=command_id,
        InstanceIds=instances[:1],
        **extra,
    )


# --------------------------------------------------------------------------- idempotency


def test_create_command_client_token(core_client: Any) -> None:
    token, name = unique("tok"), unique("core-idem")
    first = create_command(core_client, ClientToken=token, Name=name)
    assert create_command(core_client, ClientToken=token, Name=name) == first
    expect_error(
        core_client,
        "CreateCommand",
        "IdempotentParameterMismatch",
        403,
        ClientToken=token,
        Name=unique("core-idem-other"),
        Type="RunShellScript",
        CommandContent=ECHO_123_B64,
    )


def test_invoke_command_client_token(core_client: Any, instances: list[str]) -> None:
    command_id, token = create_command(core_client), unique("tok")
    first = invoke(core_client, command_id, instances[:1], ClientToken=token)
    assert invoke(core_client, command_id, instances[:1], ClientToken=token) == first
    expect_error(
        core_client,
        "InvokeCommand",
        "IdempotentParameterMismatch",
        403,
        CommandId=command_id,
        InstanceIds=instances,
        ClientToken=token,
    )


# --------------------------------------------------------------------------- tags


def test_create_command_with_tags_and_tag_filter(core_client: Any) -> None:
    prefix, key = unique("core-tagged"), unique("team")
    tagged = create_command(core_client, Name=f"{prefix}-a", Tags=[{"Key": key, "Value": "blue"}])
    create_command(core_client, Name=f"{prefix}-b")

    command = the_command(core_client, tagged)
    assert command["Tags"]["Tag"] == [{"TagKey": key, "TagValue": "blue"}]
    filtered = describe_commands(
        core_client, Name=f"{prefix}*", Tags=[{"Key": key, "Value": "blue"}]
    )
    assert [c["CommandId"] for c in filtered] == [tagged]


def _new_resource(client: Any, resource_type: str, instances: list[str]) -> str:
    if resource_type == "command":
        return create_command(client)
    return invoke(client, create_command(client), instances[:1])


def _tag_rows(client: Any, resource_type: str, resource_id: str) -> set[tuple[str, ...]]:
    body = call(client, "ListTagResources", ResourceType=resource_type, ResourceIds=[resource_id])
    return {
        (r["ResourceId"], r["ResourceType"], r["TagKey"], r["TagValue"])
        for r in body["TagResources"]["TagResource"]
    }


@pytest.mark.parametrize("resource_type", ["command", "invocation"])
def test_tag_list_untag_resources(
    core_client: Any, instances: list[str], resource_type: str
) -> None:
    resource_id = _new_resource(core_client, resource_type, instances)
    env, owner = unique("env"), unique("owner")
    call(
        core_client,
        "TagResources",
        ResourceType=resource_type,
        ResourceIds=[resource_id],
        Tags=[{"Key": env, "Value": "prod"}, {"Key": owner, "Value": "ops"}],
    )
    assert _tag_rows(core_client, resource_type, resource_id) == {
        (resource_id, resource_type, env, "prod"),
        (resource_id, resource_type, owner, "ops"),
    }
    call(
        core_client,
        "UntagResources",
        ResourceType=resource_type,
        ResourceIds=[resource_id],
        TagKeys=[env],
    )
    assert _tag_rows(core_client, resource_type, resource_id) == {
        (resource_id, resource_type, owner, "ops")
    }


# --------------------------------------------------------------------------- error paths


def test_wrong_secret(controller: Controller) -> None:
    # The controller answers 400 SignatureDoesNotMatch with "...is:" + its StringToSign. The core
    # SDK compares Message.split(':')[1] with its own StringToSign; they are equal (only the
    # secret was wrong), so the SDK itself rewrites the code to InvalidAccessKeySecret.
    client = make_core_client(controller, secret="not-the-secret")
    err = expect_error(client, "DescribeCommands", "InvalidAccessKeySecret", 400)
    assert "AccessKeySecret is incorrect" in err.get_error_msg()


def test_unknown_access_key_id(controller: Controller) -> None:
    client = make_core_client(controller, key_id="LTAI-no-such-key")
    expect_error(client, "DescribeCommands", "InvalidAccessKeyId.NotFound", 404)


def test_create_command_without_type(core_client: Any) -> None:
    err = expect_error(
        core_client,
        "CreateCommand",
        "MissingParameter",
        400,
        Name=unique("core-notype"),
        CommandContent=ECHO_123_B64,
    )
    assert "Type" in err.get_error_msg()


@pytest.mark.parametrize(
    ("override", "code", "status"),
    [
        ({"CommandContent": "not base64!"}, "CmdContent.DecodeError", 400),
        (
            {"CommandContent": b64_of_length(RETAINED_CONTENT_LIMIT + 4)},
            "CmdContent.ExceedLimit",
            403,
        ),
        ({"Type": "RunPythonScript"}, "InvalidCmdType.NotFound", 404),
        ({"Name": "n" * 129}, "CmdName.ExceedLimit", 403),
        ({"Description": "d" * 513}, "CmdDesc.ExceedLimit", 403),
        ({"Timeout": 5}, "InvalidTimeout.ExceedLimit", 403),
    ],
    ids=["bad-base64", "content-too-long", "bad-type", "long-name", "long-desc", "timeout-5"],
)
def test_create_command_rejected(
    core_client: Any, override: dict[str, Any], code: str, status: int
) -> None:
    params = {"Name": unique("core-bad"), "Type": "RunShellScript", "CommandContent": ECHO_123_B64}
    expect_error(core_client, "CreateCommand", code, status, **{**params, **override})


@pytest.mark.parametrize(
    "override",
    [
        {"CommandContent": b64_of_length(RETAINED_CONTENT_LIMIT)},
        {"Name": "n" * 128},
        {"Description": "d" * 512},
    ],
    ids=["content-18432", "name-128", "desc-512"],
)
def test_create_command_limits_are_inclusive(core_client: Any, override: dict[str, Any]) -> None:
    command_id = create_command(core_client, **override)
    field, value = next(iter(override.items()))
    assert the_command(core_client, command_id)[field] == value


@pytest.mark.parametrize(
    ("keep", "length", "accepted"),
    [
        (False, UNRETAINED_CONTENT_LIMIT, True),
        (False, UNRETAINED_CONTENT_LIMIT + 4, False),
        (True, RETAINED_CONTENT_LIMIT, True),
        (True, RETAINED_CONTENT_LIMIT + 4, False),
    ],
)
def test_run_command_content_limit(
    core_client: Any, instances: list[str], keep: bool, length: int, accepted: bool
) -> None:
    params = {
        "Type": "RunShellScript",
        "ContentEncoding": "Base64",
        "CommandContent": b64_of_length(length),
        "InstanceIds": instances[:1],
        "KeepCommand": keep,
    }
    if accepted:
        assert call(core_client, "RunCommand", **params)["InvokeId"].startswith("t-")
    else:
        expect_error(core_client, "RunCommand", "CmdContent.ExceedLimit", 403, **params)


InvokeParams = Callable[[str, list[str]], dict[str, Any]]


@pytest.mark.parametrize(
    ("make_params", "code", "status"),
    [
        (
            lambda c, i: {"CommandId": "c-nosuchcommand", "InstanceIds": i},
            "InvalidCmdId.NotFound",
            404,
        ),
        (
            lambda c, i: {"CommandId": c, "InstanceIds": ["mi-nosuchhost"]},
            "InvalidInstance.NotFound",
            404,
        ),
        (lambda c, i: {"CommandId": c}, "MissingParam.InstanceId", 400),
        (
            lambda c, i: {"CommandId": c, "InstanceIds": [f"mi-many{n:04d}" for n in range(101)]},
            "InstanceIds.ExceedLimit",
            403,
        ),
    ],
    ids=["unknown-command", "unknown-instance", "no-instance", "101-instances"],
)
def test_invoke_command_rejected(
    core_client: Any, instances: list[str], make_params: InvokeParams, code: str, status: int
) -> None:
    params = make_params(create_command(core_client), instances)
    expect_error(core_client, "InvokeCommand", code, status, **params)


@pytest.mark.parametrize("action", ["DescribeCommands", "DescribeInvocations"])
def test_page_size_over_50(core_client: Any, action: str) -> None:
    expect_error(core_client, action, "InvalidParam.PageSize", 403, PageSize=51)
