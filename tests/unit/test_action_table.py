"""The action table agrees with the official SDK and with everything that consumes it."""

from __future__ import annotations

import re
from pathlib import Path

import aliyunsdkecs
import pytest

from assistcli.api.actions import ACTIONS, BY_NAME, IGNORED_PARAMS
from assistcli.api.spec import Kind
from assistcli.controller.handlers import HANDLERS
from assistcli.errors import API_ERRORS

SDK_REQUESTS = Path(aliyunsdkecs.__file__).parent / "request" / "v20140526"
ADD_PARAM = re.compile(
    r"add_query_param\('(?P<name>\w+)(?P<list>\.' \+ str\(depth1 \+ 1\))?(?: \+ '\.(?P<field>\w+))?"
)
# Parameters the SDK knows that this controller deliberately does not take (docs/api.md says why).
NOT_SUPPORTED = {"ListTagResources": {"TagFilter"}}


def sdk_params(action: str) -> dict[str, tuple[Kind | None, frozenset[str]]]:
    """name -> (kind, struct fields) as the core SDK's request class sends them."""
    source = (SDK_REQUESTS / f"{action}Request.py").read_text()
    found: dict[str, tuple[Kind | None, set[str]]] = {}
    for match in ADD_PARAM.finditer(source):
        name = match["name"]
        if name in IGNORED_PARAMS or name in NOT_SUPPORTED.get(action, ()):
            continue
        kind = Kind.STRUCTS if match["field"] else Kind.LIST if match["list"] else None
        _, fields = found.setdefault(name, (kind, set()))
        if match["field"]:
            fields.add(match["field"])
    return {name: (kind, frozenset(fields)) for name, (kind, fields) in found.items()}


def our_params(action: str) -> dict[str, tuple[Kind | None, frozenset[str]]]:
    """As above, from the table. RegionId is not in the SDK's classes: AcsClient adds it."""
    indexed = (Kind.LIST, Kind.STRUCTS)
    return {
        p.name: (p.kind if p.kind in indexed else None, frozenset(p.fields))
        for p in BY_NAME[action].params
        if p.name != "RegionId"
    }


@pytest.mark.parametrize("action", sorted(BY_NAME))
def test_parameters_match_the_official_sdk(action: str) -> None:
    assert our_params(action) == sdk_params(action)


def test_every_action_has_a_handler() -> None:
    assert set(HANDLERS) == set(BY_NAME)


def test_every_error_code_in_the_table_is_declared() -> None:
    codes = {
        code
        for action in ACTIONS
        for p in action.params
        for code in (p.choice_error, p.length_error, p.range_error, p.items_error)
    }
    assert codes <= set(API_ERRORS)


def test_error_codes_used_in_code_are_declared() -> None:
    package = Path(__file__).parents[2] / "assistcli"
    used = set()
    for path in package.rglob("*.py"):
        used |= set(re.findall(r'ApiError(?:\.of)?\(\s*"([A-Za-z.]+)"', path.read_text()))
    assert used <= set(API_ERRORS), used - set(API_ERRORS)
