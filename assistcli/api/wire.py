"""Reading the agent protocol's JSON: each field of its type and within its bounds, or a
`WireError` that names it. A field may be left out when it has a default; `null` is never a
default's stand-in. Standard library only (agentd reads its outbox through this too).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

_REQUIRED: Any = object()  # the default of a field that must be given


class WireError(ValueError):
    """A message, or a field of one, that the agent protocol does not allow."""


def message(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"{what} is not a JSON object")
    return value


def _field(data: dict[str, Any], name: str, default: Any) -> Any:
    value = data.get(name, default)
    if value is _REQUIRED:
        raise WireError(f"{name} is missing")
    return value


def text(data: dict[str, Any], name: str, limit: int, default: Any = _REQUIRED) -> str:
    return _text(name, _field(data, name, default), limit)


def _text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise WireError(f"{name} must be a string")
    if len(value) > limit:
        raise WireError(f"{name} is longer than {limit} characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, which JSON can carry but UTF-8 cannot
            raise WireError(f"{name} is not valid Unicode") from None
    return value


def texts(data: dict[str, Any], name: str, most: int, limit: int) -> list[str]:
    """A list of at most `most` strings (an empty one when left out)."""
    values = items(data, name, most)
    return [_text(f"{name}[{i}]", value, limit) for i, value in enumerate(values)]


def items(data: dict[str, Any], name: str, most: int) -> list[Any]:
    """A list of at most `most` values of any kind (an empty one when left out)."""
    values = _field(data, name, [])
    if not isinstance(values, list):
        raise WireError(f"{name} must be a list")
    if len(values) > most:
        raise WireError(f"{name} holds more than {most} entries")
    return values


def integer(data: dict[str, Any], name: str, low: int, high: int, default: Any = _REQUIRED) -> int:
    value = _field(data, name, default)
    if type(value) is not int:  # not a bool, nor a float that happens to be whole
        raise WireError(f"{name} must be an integer")
    if not low <= value <= high:
        raise WireError(f"{name} must be from {low} to {high}")
    return value


def optional_integer(data: dict[str, Any], name: str, low: int, high: int) -> int | None:
    """An integer, or None when left out or null."""
    return None if data.get(name) is None else integer(data, name, low, high)


def number(
    data: dict[str, Any], name: str, low: float, high: float, default: Any = _REQUIRED
) -> float:
    """A finite number from `low` to `high` (integers are compared exactly, however large)."""
    value = _field(data, name, default)
    if type(value) not in (int, float):
        raise WireError(f"{name} must be a number")
    if not low <= value <= high:  # never true of NaN; low and high are finite
        raise WireError(f"{name} must be from {low} to {high}")
    return float(value)


def choice(
    data: dict[str, Any], name: str, choices: Sequence[str], default: Any = _REQUIRED
) -> str:
    value = _field(data, name, default)
    if not isinstance(value, str) or value not in choices:
        raise WireError(f"{name} must be one of {', '.join(repr(c) for c in choices)}")
    return value


def binary(data: dict[str, Any], name: str, limit: int, default: Any = _REQUIRED) -> bytes:
    """Base64 of at most `limit` bytes."""
    encoded = text(data, name, 4 * math.ceil(limit / 3), default)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:  # binascii.Error, or a character outside ASCII
        raise WireError(f"{name} is not Base64") from None
