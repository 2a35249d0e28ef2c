"""Content encodings, limits and custom parameters."""

from __future__ import annotations

import pytest

from assistcli.controller import content
from assistcli.errors import ApiError


def code_of(call, *args):  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value.code


def test_parameter_names_skip_builtins_and_keep_first_spelling() -> None:
    script = b"echo {{name}} {{ ACS::InstanceId }} {{ Name }} {{\n dir_1 }} {{x-y}}"
    assert content.parameter_names(script) == ["name", "dir_1", "x-y"]


@pytest.mark.parametrize(
    ("script", "code"),
    [
        (b"echo {{}}", "CmdParam.EmptyKey"),
        (b"echo {{a b}}", "CmdParam.InvalidParamName"),
        (b"echo {{" + b"a" * 65 + b"}}", "CmdParamName.ExceedLimit"),
        (b" ".join(b"{{p%d}}" % i for i in range(21)), "CmdParamCount.ExceedLimit"),
    ],
)
def test_bad_parameter_definitions(script: bytes, code: str) -> None:
    assert code_of(content.parameter_names, script) == code


@pytest.mark.parametrize("raw", ['{"name": "x"}', "{'name': 'x'}", '{"name":"x"}'])
def test_parameters_accept_json_and_the_old_sdk_python_repr(raw: str) -> None:
    assert content.parse_parameters(raw) == {"name": "x"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "InvalidParameter.Parameters"),
        ('["a"]', "InvalidParameter.Parameters"),
        ('{"a": 1}', "ParameterType.NotSupported"),
        ('{"a": "1", "a": "2"}', "ParameterKey.Duplicate"),
        ('{"' + "k" * 65 + '": "v"}', "ParameterKey.ExceedLimit"),
        ("{" + ",".join(f'"k{i}": "v"' for i in range(11)) + "}", "ParameterCount.ExceedLimit"),
        ("__import__('os')", "InvalidParameter.Parameters"),
        ('{"a": "\\ud800"}', "InvalidParameterCharset.Parameters"),
        ('{"\\udfff": "v"}', "InvalidParameterCharset.Parameters"),
    ],
)
def test_bad_parameters(raw: str, code: str) -> None:
    assert code_of(content.parse_parameters, raw) == code


def test_bind_checks_values_against_names() -> None:
    assert content.bind(["Name"], True, {"name": "x"}) == {"Name": "x"}
    assert code_of(content.bind, ["name"], True, {}) == "Parameter.MissingValue"
    assert code_of(content.bind, ["name"], True, {"name": "x", "y": "1"}) == "Parameter.NotMatched"
    assert code_of(content.bind, [], False, {"name": "x"}) == "Parameter.Disabled"
    assert content.bind([], False, None) == {}


def test_render_fills_custom_parameters_and_keeps_builtins() -> None:
    rendered = content.render(b"echo {{ NAME }} {{ACS::InstanceId}}", {"name": "x"})
    assert rendered == b"echo x {{ACS::InstanceId}}"


def test_render_keeps_bytes_that_are_not_utf8_and_encodes_values_as_utf8() -> None:
    gbk = "echo 你好".encode("gbk")
    script = b"\xff\xfe" + gbk + b" {{name}} {{ACS::InstanceId}}\r\n\x80"
    rendered = content.render(script, {"name": "é", "ACS::InstanceId": "i-1"})
    assert rendered == b"\xff\xfe" + gbk + b" \xc3\xa9 i-1\r\n\x80"
    assert content.parameter_names(script) == ["name"]


def test_base64_must_decode_strictly_and_fit() -> None:
    assert content.decode_content("ZWNobyAxMjM=", "Base64") == b"echo 123"
    assert code_of(content.decode_content, "not base64!", "Base64") == "CmdContent.DecodeError"
    content.check_size(b"x" * (18 * 1024 // 4 * 3), content.RETAINED_LIMIT)
    assert code_of(content.check_size, b"x" * 13825, content.RETAINED_LIMIT) == (
        "CmdContent.ExceedLimit"
    )


def test_secrets_are_alphanumeric_so_no_shell_or_parser_misreads_them() -> None:
    from assistcli.controller.ids import new_secret

    secrets = {new_secret() for _ in range(200)}
    assert len(secrets) == 200
    assert all(s.isalnum() and len(s) == 32 for s in secrets)
