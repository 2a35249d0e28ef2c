"""Decoding wire parameters by the table, and encoding them back."""

from __future__ import annotations

import pytest

from assistcli.api.actions import ACTIONS, BY_NAME
from assistcli.api.codec import decode, encode
from assistcli.api.spec import Kind
from assistcli.errors import ApiError

INVOKE = BY_NAME["InvokeCommand"]


def error_of(action: str, params: dict[str, str]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        decode(BY_NAME[action], {"RegionId": "cn-hangzhou", **params})
    return caught.value


def test_lists_are_ordered_by_index_and_deduplicated() -> None:
    args = decode(
        INVOKE,
        {
            "RegionId": "r",
            "CommandId": "c",
            "InstanceId.10": "b",
            "InstanceId.2": "a",
            "InstanceId.3": "b",
        },
    )
    assert args.strings("InstanceId") == ["a", "b"]


def test_struct_lists_and_booleans() -> None:
    args = decode(
        INVOKE,
        {
            "RegionId": "r",
            "CommandId": "c",
            "Tag.1.Key": "env",
            "Tag.1.Value": "prod",
            "Tag.2.Key": "team",
            "Timed": "False",
        },
    )
    assert args.records("Tag") == [{"Key": "env", "Value": "prod"}, {"Key": "team"}]
    assert args.flag("Timed") is False


@pytest.mark.parametrize("raw", ["True", "true", "TRUE", " false "])
def test_booleans_are_case_insensitive(raw: str) -> None:
    args = decode(INVOKE, {"RegionId": "r", "CommandId": "c", "Timed": raw})
    assert args.flag("Timed") is (raw.strip().lower() == "true")


@pytest.mark.parametrize(
    ("action", "params", "code", "status"),
    [
        ("CreateCommand", {"Name": "n", "CommandContent": "x"}, "MissingParameter", 400),
        (
            "CreateCommand",
            {"Name": "n", "Type": "Nope", "CommandContent": "x"},
            "InvalidCmdType.NotFound",
            404,
        ),
        (
            "CreateCommand",
            {"Name": "n" * 129, "Type": "RunShellScript", "CommandContent": "x"},
            "CmdName.ExceedLimit",
            403,
        ),
        ("InvokeCommand", {"CommandId": "c", "Timeout": "abc"}, "InvalidParameter", 400),
        ("InvokeCommand", {"CommandId": "c", "Timeout": "9"}, "InvalidTimeout.ExceedLimit", 403),
        ("InvokeCommand", {"CommandId": "c", "Timed": "maybe"}, "InvalidParameter", 400),
        ("InvokeCommand", {"CommandId": "c", "InstanceId.0": "a"}, "InvalidParameter", 400),
        ("InvokeCommand", {"CommandId": "c", "InstanceId.x": "a"}, "InvalidParameter", 400),
        ("InvokeCommand", {"CommandId": "c", "InstanceId.1": " "}, "InvalidParameter", 400),
        ("InvokeCommand", {"CommandId": "c", "Tag.1.Color": "x"}, "InvalidParameter", 400),
        ("InvokeCommand", {"CommandId": "c", "Tag.1": "x"}, "InvalidParameter", 400),
        (
            "InvokeCommand",
            {"CommandId": "c", "RepeatMode": "Sometimes"},
            "InvalidRepeatMode.NotFound",
            404,
        ),
        (
            "InvokeCommand",
            {"CommandId": "c", **{f"InstanceId.{i}": f"i{i}" for i in range(1, 102)}},
            "InstanceIds.ExceedLimit",
            403,
        ),
        ("DescribeCommands", {"PageSize": "51"}, "InvalidParam.PageSize", 403),
        ("DescribeCommands", {"PageNumber": "0"}, "InvalidParam.PageNumber", 403),
        (
            "InvokeCommand",
            {"CommandId": "c", "ClientToken": "t" * 65},
            "InvalidClientToken.Malformed",
            400,
        ),
    ],
)
def test_bad_input_names_the_documented_error(
    action: str, params: dict[str, str], code: str, status: int
) -> None:
    error = error_of(action, params)
    assert (error.code, error.status) == (code, status)


def test_missing_parameter_message_names_it() -> None:
    assert '"Type"' in error_of("CreateCommand", {"Name": "n", "CommandContent": "x"}).message


def test_lenient_choices_fall_back_to_the_default() -> None:
    base = {"RegionId": "r", "Name": "n", "Type": "runshellscript", "CommandContent": "x"}
    args = decode(BY_NAME["CreateCommand"], {**base, "ContentEncoding": "whatever"})
    assert args.text("ContentEncoding") == "Base64"
    assert args.text("Type") == "RunShellScript"  # answered in the table's spelling
    run = decode(BY_NAME["RunCommand"], {**base, "ContentEncoding": "whatever"})
    assert run.text("ContentEncoding") == "PlainText"


def sample(kind: Kind) -> object:
    return {
        Kind.STRING: "value",
        Kind.INTEGER: 30,
        Kind.BOOLEAN: True,
        Kind.LIST: ["a", "b"],
        Kind.STRUCTS: [{"Key": "k", "Value": "v"}],
        Kind.JSON: '{"k":"v"}',
    }[kind]


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_encode_then_decode_is_identity(action) -> None:  # type: ignore[no-untyped-def]
    values = {}
    for param in action.params:
        value = sample(param.kind)
        if param.choices:
            value = param.choices[0]
        elif param.kind is Kind.STRUCTS:
            value = [dict.fromkeys(param.fields, "x")]
        elif param.kind is Kind.INTEGER:
            value = param.minimum or 30
        values[param.name] = value
    args = decode(action, encode(action, values))
    for param in action.params:
        getter = {
            Kind.STRING: args.text,
            Kind.JSON: args.text,
            Kind.INTEGER: args.number,
            Kind.BOOLEAN: args.flag,
            Kind.LIST: args.strings,
            Kind.STRUCTS: args.records,
        }[param.kind]
        assert getter(param.name) == values[param.name], param.name
