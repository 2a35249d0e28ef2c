"""`Format=XML`: the old core SDK asks for it with `set_accept_format('XML')` and reads the body
itself (`AcsClient.do_action`). Every answer is compared, leaf by leaf, with the JSON answer to
the same question; errors, those of authentication too, come back as XML as well."""

from __future__ import annotations

import json
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from conftest import Controller
from sdk_helpers import ECHO_123_B64, unique
from test_sdk_core import acs_request, call, make_core_client

pytestmark = pytest.mark.e2e

Leaf = tuple[str, str]


def json_leaves(fields: dict[str, Any], path: str = "") -> Iterator[Leaf]:
    """(path, text) of every scalar, lists repeating their key, as XML spells them."""
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            where = f"{path}/{key}"
            if isinstance(item, dict):
                inner = list(json_leaves(item, where))
                yield from inner or [(where, "")]  # an empty wrapper is an empty element
            elif isinstance(item, bool):
                yield where, str(item).lower()
            else:
                yield where, "" if item is None else str(item)


def xml_leaves(element: ET.Element, path: str = "") -> Iterator[Leaf]:
    for child in element:
        where = f"{path}/{child.tag}"
        if len(child):
            yield from xml_leaves(child, where)
        else:
            yield where, child.text or ""


def without_request_id(leaves: Iterator[Leaf]) -> list[Leaf]:
    return [leaf for leaf in leaves if leaf[0] != "/RequestId"]


def in_xml(client: Any, action: str, **params: Any) -> ET.Element:
    request = acs_request(action, **params)
    request.set_accept_format("XML")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # do_action: the old SDK's own call
        body = client.do_action(request)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body[:200]
    return ET.fromstring(body)


def raw_xml(client: Any, action: str, **params: Any) -> tuple[int, str, ET.Element]:
    """Status, Content-Type and root element, of an answer that may be an error."""
    request = acs_request(action, **params)
    request.set_accept_format("XML")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        status, headers, body = client.get_response(request)
    return status, headers["Content-Type"], ET.fromstring(body)


def assert_same(client: Any, action: str, **params: Any) -> ET.Element:
    root = in_xml(client, action, **params)
    assert root.tag == f"{action}Response"
    assert root.findtext("RequestId")
    answered = call(client, action, **params)
    assert without_request_id(xml_leaves(root)) == without_request_id(json_leaves(answered))
    return root


def test_a_describe_lists_every_member_under_its_item_name(controller: Controller) -> None:
    client = make_core_client(controller)
    name = unique("xml")
    for _ in range(2):
        call(client, "CreateCommand", Name=name, Type="RunShellScript", CommandContent="ZGF0ZQ==")
    root = assert_same(client, "DescribeCommands", Name=name)
    commands = root.findall("Commands/Command")
    assert [c.findtext("Name") for c in commands] == [name, name]
    assert {c.findtext("EnableParameter") for c in commands} == {"false"}
    assert root.findtext("TotalCount") == "2"


def test_nested_lists_and_plain_arrays(controller: Controller) -> None:
    client = make_core_client(controller)
    instance = controller.add_instance(name=unique("xml-host"))
    run = call(
        client,
        "RunCommand",
        Type="RunShellScript",
        CommandContent=ECHO_123_B64,
        InstanceIds=[instance],
        Tags=[{"Key": "team", "Value": "x<y&z"}],
    )
    root = assert_same(client, "DescribeInvocations", InvokeId=run["InvokeId"])
    [invocation] = root.findall("Invocations/Invocation")
    assert invocation.findtext("InvokeInstances/InvokeInstance/InstanceId") == instance
    assert invocation.findtext("Tags/Tag/TagValue") == "x<y&z"
    # DescribeManagedInstances answers plain arrays: each member repeats the array's name.
    root = assert_same(client, "DescribeManagedInstances", InstanceIds=[instance])
    assert [i.findtext("InstanceId") for i in root.findall("Instances")] == [instance]


def test_a_mutating_action_answers_xml(controller: Controller) -> None:
    client = make_core_client(controller)
    name = unique("xml-create")
    root = in_xml(client, "CreateCommand", Name=name, Type="RunShellScript", CommandContent="ZA==")
    assert root.tag == "CreateCommandResponse"
    assert [child.tag for child in root] == ["RequestId", "CommandId"]
    listed = call(client, "DescribeCommands", CommandId=root.findtext("CommandId"))
    assert [c["Name"] for c in listed["Commands"]["Command"]] == [name]


def test_errors_are_xml_too_with_the_same_fields(controller: Controller) -> None:
    client = make_core_client(controller)
    status, content_type, root = raw_xml(client, "DeleteCommand", CommandId="c-missing")
    assert (status, content_type, root.tag) == (404, "text/xml;charset=utf-8", "Error")
    assert [child.tag for child in root] == ["RequestId", "HostId", "Code", "Message", "Recommend"]
    missing = acs_request("DeleteCommand", CommandId="c-missing")
    with pytest.raises(ServerException) as refused:
        client.do_action_with_exception(missing)
    as_json = {"Code": refused.value.get_error_code(), "Message": refused.value.get_error_msg()}
    assert root.findtext("Code") == as_json["Code"] == "InvalidCmdId.NotFound"
    assert root.findtext("Message") == as_json["Message"]
    # Authentication fails before the action is known: still XML.
    wrong = make_core_client(controller, secret="not-the-secret")
    status, _, root = raw_xml(wrong, "DescribeCommands")
    assert (status, root.tag, root.findtext("Code")) == (400, "Error", "SignatureDoesNotMatch")


@pytest.mark.parametrize("asked", ["JSON", "json", None, "YAML"])
def test_anything_but_xml_is_answered_json(controller: Controller, asked: str | None) -> None:
    client = make_core_client(controller)
    request = acs_request("DescribeCommands", PageSize=1)
    if asked is not None:  # unset, the old SDK sends Format=None
        request.set_accept_format(asked)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        status, headers, body = client.get_response(request)
    assert (status, headers["Content-Type"]) == (200, "application/json;charset=utf-8")
    assert "Commands" in json.loads(body)


def test_do_action_with_exception_always_asks_for_json(controller: Controller) -> None:
    client = make_core_client(controller)
    request = acs_request("DescribeCommands", PageSize=1)
    request.set_accept_format("XML")  # the SDK sets Format=JSON again: it parses the body
    assert json.loads(client.do_action_with_exception(request))["PageSize"] == 1
