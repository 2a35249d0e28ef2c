"""Wire parameters <-> typed values, driven by the action table.

The wire form is flat: `InstanceId.1=a`, `Tag.1.Key=k`, `EnableParameter=True`. `decode` checks
every declared parameter (required, type, choices, lengths, ranges, counts) and answers with the
error code the table names; `encode` is its inverse for clients.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from assistcli.api.spec import Action, Kind, Param
from assistcli.errors import ApiError, invalid, missing

Value = str | int | bool | list[str] | list[dict[str, str]] | None

# A list index has at most nine digits: more would only make int() work for nothing.
_INDEXED = re.compile(r"^(?P<index>[0-9]{1,9})(?:\.(?P<field>.+))?$")


class Args:
    """Decoded parameters of one request, with typed accessors keyed by wire name."""

    def __init__(self, values: Mapping[str, Value]) -> None:
        self._values = dict(values)

    def __contains__(self, name: str) -> bool:
        return self._values.get(name) not in (None, [], "")

    def text(self, name: str, default: str = "") -> str:
        value = self._values.get(name)
        return value if isinstance(value, str) else default

    def optional_text(self, name: str) -> str | None:
        value = self._values.get(name)
        return value if isinstance(value, str) else None

    def number(self, name: str) -> int | None:
        value = self._values.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def flag(self, name: str) -> bool | None:
        value = self._values.get(name)
        return value if isinstance(value, bool) else None

    def strings(self, name: str) -> list[str]:
        value = self._values.get(name)
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    def records(self, name: str) -> list[dict[str, str]]:
        value = self._values.get(name)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def fingerprint(self) -> str:
        """A stable rendering of every value, for ClientToken comparisons."""
        return json.dumps(self._values, sort_keys=True, default=str)


def decode(action: Action, flat: Mapping[str, str]) -> Args:
    """Validate and convert the flat wire parameters of `action`."""
    grouped = _group_indexed(flat)
    values: dict[str, Value] = {}
    for param in action.params:
        if param.kind is Kind.LIST:
            value: Value = _decode_list(param, grouped.get(param.name, {}))
        elif param.kind is Kind.STRUCTS:
            value = _decode_structs(param, grouped.get(param.name, {}))
        else:
            raw = flat.get(param.name)
            value = param.default if raw is None else _decode_scalar(param, raw)
        if param.required and value in (None, "", []):
            raise missing(param.name)
        values[param.name] = value
    return Args(values)


def _group_indexed(flat: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Group indexed keys by their head:

    {"InstanceId.1": "a", "Tag.1.Key": "k"} -> {"InstanceId": {"1": "a"}, "Tag": {"1.Key": "k"}}
    """
    grouped: dict[str, dict[str, str]] = {}
    for key, value in flat.items():
        head, dot, rest = key.partition(".")
        if dot:
            grouped.setdefault(head, {})[rest] = value
    return grouped


def _decode_scalar(param: Param, raw: str) -> Value:
    if param.kind is Kind.INTEGER:
        return _check_range(param, _parse_int(param.name, raw))
    if param.kind is Kind.BOOLEAN:
        return parse_bool(param.name, raw)
    if param.choices:
        return _choose(param, raw)
    _check_length(param, raw)
    return raw


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise invalid(name, "Expected an integer.") from None


def parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise invalid(name, "Expected true or false.")


def _check_range(param: Param, value: int) -> int:
    too_low = param.minimum is not None and value < param.minimum
    too_high = param.maximum is not None and value > param.maximum
    if too_low or too_high:
        raise ApiError(param.range_error, _range_message(param, value))
    return value


def _range_message(param: Param, value: int) -> str:
    bounds = [f">= {param.minimum}" if param.minimum is not None else ""]
    bounds.append(f"<= {param.maximum}" if param.maximum is not None else "")
    return f"{param.name} must be {' and '.join(b for b in bounds if b)}; got {value}."


def _choose(param: Param, raw: str) -> str | None:
    for choice in param.choices:
        if choice.lower() == raw.strip().lower():
            return choice
    if param.lenient:
        return param.default if isinstance(param.default, str) else None
    raise ApiError(param.choice_error, f"{param.name} must be one of {', '.join(param.choices)}.")


def _check_length(param: Param, value: str) -> None:
    if param.max_len is not None and len(value) > param.max_len:
        raise ApiError(
            param.length_error, f"{param.name} is longer than {param.max_len} characters."
        )


def _indexes(param: Param, entries: Mapping[str, str]) -> dict[int, dict[str, str]]:
    """Split `N` / `N.Field` keys into {N: {Field: value}}; N counts from 1."""
    by_index: dict[int, dict[str, str]] = {}
    for key, value in entries.items():
        match = _INDEXED.match(key)
        if not match or int(match["index"]) < 1:
            shown = key if len(key) <= 40 else f"{key[:40]}..."
            raise invalid(f"{param.name}.{shown}", "List indexes count from 1 (at most 9 digits).")
        field = match["field"] or ""
        if field and field not in param.fields:
            raise invalid(f"{param.name}.{key}", f"Known fields: {', '.join(param.fields)}.")
        by_index.setdefault(int(match["index"]), {})[field] = value
    if param.max_items is not None and len(by_index) > param.max_items:
        raise ApiError(param.items_error, f"{param.name} takes at most {param.max_items} items.")
    return dict(sorted(by_index.items()))


def _decode_list(param: Param, entries: Mapping[str, str]) -> list[str]:
    items: list[str] = []
    for index, fields in _indexes(param, entries).items():
        if set(fields) != {""} or not fields[""].strip():
            raise invalid(f"{param.name}.{index}", "Expected a non-empty value.")
        _check_length(param, fields[""])
        items.append(fields[""].strip())
    return list(dict.fromkeys(items))  # duplicates name the same target once


def _decode_structs(param: Param, entries: Mapping[str, str]) -> list[dict[str, str]]:
    structs = list(_indexes(param, entries).values())
    if any("" in fields for fields in structs):
        raise invalid(param.name, f"Use {param.name}.N.{param.fields[0]}.")
    return structs


def encode(action: Action, values: Mapping[str, Any]) -> dict[str, str]:
    """Flatten typed values into wire parameters (the inverse of `decode`)."""
    flat: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        kind = _kind_of(action, name)
        if kind is Kind.LIST:
            flat.update({f"{name}.{i}": str(item) for i, item in enumerate(value, 1)})
        elif kind is Kind.STRUCTS:
            for i, struct in enumerate(value, 1):
                flat.update({f"{name}.{i}.{field}": str(v) for field, v in struct.items()})
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        elif kind is Kind.JSON and not isinstance(value, str):
            flat[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            flat[name] = str(value)
    return flat


def _kind_of(action: Action, name: str) -> Kind:
    try:
        return action.param(name).kind
    except KeyError:
        return Kind.STRING
