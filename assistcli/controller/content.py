"""Command content: encodings, size limits and `{{name}}` custom parameters."""

from __future__ import annotations

import ast
import base64
import binascii
import json
import re
from collections.abc import Mapping

from assistcli.errors import ApiError

RETAINED_LIMIT = 18 * 1024  # Base64 characters of a kept command
ONE_OFF_LIMIT = 24 * 1024  # ... of RunCommand's implicit, not kept, command
MAX_DEFINED_PARAMS = 20
MAX_PASSED_PARAMS = 10
MAX_NAME_BYTES = 64
BUILTIN_PREFIX = "acs::"

# On bytes: scripts need not be UTF-8 (a GBK batch file), and what is not a placeholder must reach
# the agent byte for byte.
_PLACEHOLDER = re.compile(rb"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def decode_content(raw: str, encoding: str) -> bytes:
    """Script bytes from the wire value; Base64 must decode strictly."""
    if encoding == "PlainText":
        return raw.encode("utf-8")
    try:
        return base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("CmdContent.DecodeError") from None


def check_size(content: bytes, limit: int) -> None:
    size = len(base64.b64encode(content))
    if size > limit:
        raise ApiError(
            "CmdContent.ExceedLimit",
            f"The command content is {size} bytes after Base64 encoding; the limit is {limit}.",
        )


def encode_content(content: bytes, encoding: str) -> str:
    """Content or output as a response carries it: Base64 unless PlainText was asked for."""
    if encoding == "PlainText":
        return content.decode("utf-8", errors="replace")
    return base64.b64encode(content).decode()


def parameter_names(content: bytes) -> list[str]:
    """Custom parameter names of `{{name}}` placeholders, in order of appearance.

    Built-in `{{ACS::...}}` names are the agent's and are not listed."""
    names: dict[str, str] = {}
    for match in _PLACEHOLDER.finditer(content):
        name = match.group(1).decode("utf-8", errors="replace").strip()
        if name.lower().startswith(BUILTIN_PREFIX):
            continue
        if not name:
            raise ApiError("CmdParam.EmptyKey")
        if not _NAME.match(name):
            raise ApiError(
                "CmdParam.InvalidParamName",
                f"Invalid custom parameter name {name!r}: use letters, digits, - and _.",
            )
        if len(name.encode()) > MAX_NAME_BYTES:
            raise ApiError("CmdParamName.ExceedLimit")
        names.setdefault(name.lower(), name)
    if len(names) > MAX_DEFINED_PARAMS:
        raise ApiError("CmdParamCount.ExceedLimit")
    return list(names.values())


class _Pairs(list[tuple[str, object]]):
    """A JSON object as its list of pairs, so duplicate keys stay visible."""


def parse_parameters(raw: str) -> dict[str, str]:
    """The `Parameters` JSON object. The old core SDK sends a Python dict repr; accept it too."""
    try:
        parsed = json.loads(raw, object_pairs_hook=_Pairs)
    except ValueError:
        return _checked(_literal_pairs(raw))
    if not isinstance(parsed, _Pairs):
        raise ApiError("InvalidParameter.Parameters")
    return _checked(parsed)


def _literal_pairs(raw: str) -> list[tuple[str, object]]:
    try:
        node = ast.parse(raw.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ApiError("InvalidParameter.Parameters") from None
    if not isinstance(node, ast.Dict):
        raise ApiError("InvalidParameter.Parameters")
    try:
        return [
            (ast.literal_eval(k), ast.literal_eval(v))
            for k, v in zip(node.keys, node.values, strict=True)
            if k is not None
        ]
    except (ValueError, SyntaxError, TypeError):
        raise ApiError("InvalidParameter.Parameters") from None


def _checked(pairs: list[tuple[object, object]] | list[tuple[str, object]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in pairs:
        if not isinstance(key, str) or not key:
            raise ApiError("InvalidParameter.Parameters", "Parameter keys must be non-empty.")
        if len(key) > MAX_NAME_BYTES:
            raise ApiError("ParameterKey.ExceedLimit")
        if key in values:
            raise ApiError.of("ParameterKey.Duplicate", name=key)
        if not isinstance(value, str):
            raise ApiError.of("ParameterType.NotSupported", name=key)
        if not (key + value).isascii():
            try:
                (key + value).encode("utf-8")  # JSON may carry "\ud800", which no script can hold
            except UnicodeEncodeError:
                raise ApiError("InvalidParameterCharset.Parameters") from None
        values[key] = value
    if len(values) > MAX_PASSED_PARAMS:
        raise ApiError("ParameterCount.ExceedLimit")
    return values


def bind(names: list[str], enabled: bool, values: Mapping[str, str] | None) -> dict[str, str]:
    """Check passed values against the command's parameters; every name needs a value."""
    if not enabled:
        if values:
            raise ApiError("Parameter.Disabled")
        return {}
    given = {key.lower(): (key, value) for key, value in (values or {}).items()}
    known = {name.lower() for name in names}
    for lowered, (key, _) in given.items():
        if lowered not in known:
            raise ApiError.of("Parameter.NotMatched", name=key)
    for name in names:
        if name.lower() not in given:
            raise ApiError.of("Parameter.MissingValue", name=name)
    return {name: given[name.lower()][1] for name in names}


def render(content: bytes, values: Mapping[str, str]) -> bytes:
    """Substitute `values` (UTF-8 encoded); unknown placeholders and every other byte stay."""
    lowered = {key.lower(): value.encode("utf-8") for key, value in values.items()}

    def fill(match: re.Match[bytes]) -> bytes:
        name = match.group(1).decode("utf-8", errors="replace").strip().lower()
        return lowered.get(name, match.group(0))

    return _PLACEHOLDER.sub(fill, content)
