"""The aliyun-style parameter parser, driven by the action table."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from assistcli.api.actions import BY_NAME
from assistcli.cli.args import check_required, parse
from assistcli.cli.exits import CliError, ExitCode

INVOKE = BY_NAME["InvokeCommand"]
CREATE = BY_NAME["CreateCommand"]


def params(action_name: str, *tokens: str, force: bool = False) -> dict[str, str]:
    return parse(BY_NAME[action_name], tokens, force=force).params


def usage_error(action_name: str, *tokens: str) -> CliError:
    with pytest.raises(CliError) as caught:
        parse(BY_NAME[action_name], tokens)
    assert caught.value.code == ExitCode.USAGE
    return caught.value


@pytest.mark.parametrize(
    "tokens",
    [
        ("--CommandId", "c-1"),
        ("--CommandId=c-1",),
        ("--CommandId:c-1",),
    ],
)
def test_a_value_in_every_spelling(tokens: tuple[str, ...]) -> None:
    assert params("InvokeCommand", *tokens) == {"CommandId": "c-1"}


def test_a_value_may_start_with_a_dash_and_contain_equals_signs() -> None:
    assert params("CreateCommand", "--Description", "-1/-1") == {"Description": "-1/-1"}
    assert params("CreateCommand", "--Description=a=b") == {"Description": "a=b"}
    assert params("CreateCommand", "--Description=--x") == {"Description": "--x"}


@pytest.mark.parametrize(
    "tokens",
    [
        ("--InstanceId.1", "i-a", "--InstanceId.2", "i-b"),
        ("--InstanceIds", "i-a", "i-b"),  # aliyuncli 2017
        ("--InstanceId", "i-a", "i-b"),
        ("--InstanceIds", '["i-a","i-b"]'),
        ("--InstanceIds", "['i-a', 'i-b']"),  # a Python literal, as aliyun's issues advise
        ("--InstanceIds=i-a", "--InstanceId", "i-b"),
        ("--InstanceIds", "i-a,i-b"),  # comma-separated
        ("--InstanceId", "i-a,i-b"),
        ("--InstanceIds=i-a,i-b",),
    ],
)
def test_list_spellings(tokens: tuple[str, ...]) -> None:
    assert params("InvokeCommand", *tokens) == {"InstanceId.1": "i-a", "InstanceId.2": "i-b"}


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (("--InstanceIds", "i-a,,i-b"), "--InstanceId: 'i-a,,i-b' has an empty item"),
        (("--InstanceIds", "i-a,"), "--InstanceId: 'i-a,' has an empty item"),
        (("--InstanceIds", "i-a i-b"), "--InstanceId: 'i-a i-b' is not one ID"),
        (("--InstanceId.1", "i-a,i-b"), "--InstanceId.1: 'i-a,i-b' is not one ID"),
        (("--InstanceIds", '["i-a", ["i-b"]]'), "--InstanceId: ['i-b'] is not one ID"),
        (("--InstanceIds", '["i-a", ""]'), """--InstanceId: '["i-a", ""]' has an empty item"""),
    ],
)
def test_list_items_that_are_not_one_id_are_refused(tokens: tuple[str, ...], message: str) -> None:
    error = usage_error("InvokeCommand", "--CommandId", "c-1", *tokens)
    assert error.message == message
    assert "--InstanceIds a,b" in error.tip and "--InstanceId.1 a" in error.tip


def test_list_indexes_are_kept_and_new_values_follow_them() -> None:
    got = params("InvokeCommand", "--InstanceId.3", "i-c", "--InstanceIds", "i-d")
    assert got == {"InstanceId.3": "i-c", "InstanceId.4": "i-d"}


def test_a_string_parameter_named_like_a_list_takes_one_value() -> None:
    assert params("DescribeInvocations", "--InstanceId", "i-a") == {"InstanceId": "i-a"}
    usage_error("DescribeInvocations", "--InstanceId", "i-a", "i-b")


def test_struct_lists() -> None:
    expected = {"Tag.1.Key": "k", "Tag.1.Value": "v", "Tag.2.Key": "x"}
    assert params(
        "CreateCommand", "--Tag.1.Key", "k", "--Tag.1.Value", "v", "--Tag.2.Key", "x"
    ) == (expected)
    as_json = '[{"Key": "k", "Value": "v"}, {"Key": "x"}]'
    assert params("CreateCommand", "--Tag", as_json) == expected
    assert "JSON array" in usage_error("CreateCommand", "--Tag", "k=v").message
    assert usage_error("CreateCommand", "--Tag.1.Colour", "red").suggestions


@pytest.mark.parametrize(
    ("given", "sent"), [("true", "true"), ("False", "false"), ("TRUE", "true")]
)
def test_booleans(given: str, sent: str) -> None:
    assert params("InvokeCommand", "--Timed", given) == {"Timed": sent}


def test_a_bare_boolean_is_true_and_a_bad_one_is_refused() -> None:
    assert params("InvokeCommand", "--Timed", "--CommandId", "c") == {
        "Timed": "true",
        "CommandId": "c",
    }
    assert "true or false" in usage_error("InvokeCommand", "--Timed", "yes").message


def test_values_from_files(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_bytes(b"echo 123\n")
    encoded = tmp_path / "script.b64"
    encoded.write_text("ZWNobyAxMjM=")
    assert params("CreateCommand", "--CommandContent-FILE", str(encoded)) == {
        "CommandContent": "ZWNobyAxMjM="
    }
    assert params("CreateCommand", f"--Description=file://{script}") == {
        "Description": "echo 123\n"
    }
    got = params("CreateCommand", "--CommandContent", f"fileb://{script}")
    assert base64.b64decode(got["CommandContent"]) == b"echo 123\n"
    assert "cannot read" in usage_error("CreateCommand", "--Name", f"file://{tmp_path}/no").message


def test_an_unknown_parameter_suggests_close_names() -> None:
    error = usage_error("CreateCommand", "--Nmae", "x")
    assert error.message.startswith("'--Nmae' is not a valid parameter or flag.")
    assert error.suggestions[0] == "--Name"
    assert (
        usage_error("CreateCommand", "--commandcontent", "x").suggestions[0] == "--CommandContent"
    )


def test_malformed_command_lines() -> None:
    assert "given twice" in usage_error("CreateCommand", "--Name", "a", "--Name", "b").message
    assert "unexpected argument 'stray'" in usage_error("CreateCommand", "stray").message
    assert "needs a value" in usage_error("CreateCommand", "--Name").message
    assert "2014-05-26" in usage_error("CreateCommand", "--version", "2016-01-01").message


def test_api_version_ignored_params_force_and_help() -> None:
    assert params("CreateCommand", "--version", "2014-05-26", "--OwnerId", "1") == {"OwnerId": "1"}
    assert params("CreateCommand", "--Unknown", "x", force=True) == {"Unknown": "x"}
    assert parse(CREATE, ["--Name", "n", "--help"]).help


def test_required_parameters_are_named() -> None:
    with pytest.raises(CliError) as caught:
        check_required(INVOKE, {})
    assert caught.value.code == ExitCode.MISSING
    assert caught.value.message == "required parameters not assigned:\n  --CommandId"
    with pytest.raises(CliError) as caught:
        check_required(BY_NAME["TagResources"], {"ResourceType": "command"})
    assert "--ResourceId.1" in caught.value.message and "--Tag.1.Key" in caught.value.message
    check_required(INVOKE, {"CommandId": "c"})  # RegionId comes from the profile
