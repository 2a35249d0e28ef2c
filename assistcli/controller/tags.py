"""Tag rules shared by every action that sets or filters tags."""

from __future__ import annotations

from assistcli.controller.models import Tag
from assistcli.errors import ApiError

MAX_KEY, MAX_VALUE = 128, 128
RESERVED_PREFIXES = ("aliyun", "acs:")


def tags_to_set(records: list[dict[str, str]]) -> list[Tag]:
    """Validated (key, value) pairs from Tag.N.Key / Tag.N.Value."""
    pairs: list[Tag] = []
    for record in records:
        key, value = record.get("Key", ""), record.get("Value", "")
        if not key or len(key) > MAX_KEY or _forbidden(key, reserved=True):
            raise ApiError("InvalidTagKey.Malformed", f"Invalid tag key {key!r}.")
        if len(value) > MAX_VALUE or _forbidden(value, reserved=False):
            raise ApiError("InvalidTagValue.Malformed", f"Invalid tag value {value!r}.")
        pairs.append((key, value))
    if len({key for key, _ in pairs}) != len(pairs):
        raise ApiError("Duplicate.TagKey")
    return pairs


def tag_filter(records: list[dict[str, str]]) -> list[Tag]:
    """(key, value) filters; an empty value matches any value of the key."""
    pairs: list[Tag] = []
    for record in records:
        key, value = record.get("Key", ""), record.get("Value", "")
        if not key:
            raise (
                ApiError("InvalidParameter.TagValue")
                if value
                else ApiError("InvalidTagKey.Malformed", "A tag filter needs a Key.")
            )
        pairs.append((key, value))
    return pairs


def _forbidden(text: str, *, reserved: bool) -> bool:
    lowered = text.lower()
    if reserved and lowered.startswith(RESERVED_PREFIXES):
        return True
    return "http://" in lowered or "https://" in lowered
