"""Signed API requests drawn from the action table: each action's own parameter declarations
(kinds, choices, lengths, ranges, list sizes) give valid values, and then a few of them are
swapped for values just past the declared limits or for hostile ones (hostile.py). Ids are
placeholders for the fuzz world's real resources."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from conftest import REGION
from fuzz_world import ACTIVATION, COMMAND, INSTANCE, INVOCATION
from hostile import BAD_BASE64, BAD_JSON, HOSTILE_TEXT, INDEXES, SENDABLE_TEXT
from hypothesis import strategies as st

from assistcli.api.actions import ACTIONS, IGNORED_PARAMS
from assistcli.api.spec import Action, Kind, Param

Wire = dict[str, str]


def token(offset: object) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


# Valid values of parameters whose name says more than their declaration.
VALID: dict[str, list[str]] = {
    "RegionId": [REGION],
    "CommandId": [COMMAND],
    "InvokeId": [INVOCATION],
    "InstanceId": [INSTANCE],
    "ActivationId": [ACTIVATION],
    "ResourceId": [COMMAND, INVOCATION, INSTANCE, ACTIVATION],
    "CommandContent": [base64.b64encode(b"echo 123").decode(), "echo 123"],
    "Content": [base64.b64encode(b"data").decode(), "data"],
    "Frequency": ["rate(5m)", "0 */20 * * * *", "at(2099-01-01T00:00:00Z)"],
    "TargetDir": ["/tmp"],
    "FileMode": ["0644", "0755"],
    "IpAddressRange": ["10.0.0.0/8", "::1", "127.0.0.1"],
    "NextToken": [token(0), token(5)],
    "Parameters": ['{"name":"value"}', "{}"],
    "ClientToken": ["fuzz-token-1", "fuzz-token-2"],
}
# ... and values just past what they allow.
INVALID: dict[str, list[str]] = {
    "RegionId": ["", "CN-HANGZHOU", "cn_hangzhou", "x" * 70],
    "CommandId": ["c-doesnotexist"],
    "InvokeId": ["t-doesnotexist", "f-doesnotexist"],
    "InstanceId": ["mi-doesnotexist", "i-doesnotexist"],
    "ActivationId": ["doesnotexist"],
    "ResourceId": ["r-doesnotexist"],
    "CommandContent": BAD_BASE64,
    "Content": BAD_BASE64,
    "Frequency": [
        "rate(0s)",
        "rate(99999999999999999999d)",
        "at(99999-01-01T00:00:00Z)",
        "0 0 0 31 2 ? 2099",
        "* * * * * * 99999",
        "0 0 * * * * Asia/Nowhere",
    ],
    "TargetDir": ["relative", "/" + "d" * 300],
    "FileMode": ["0999", "-1", "7" * 30],
    "IpAddressRange": ["1.2.3.4/33", "300.1.1.1", "fe80::/200"],
    "NextToken": [token(n) for n in (2**63, "9" * 30, -1, "x", "")] + ["@@", "b2Zmc2V0"],
    "Parameters": BAD_JSON,
}


@dataclass(frozen=True)
class ApiCase:
    params: Wire
    method: str
    signature: str
    body_params: bool

    def shown(self) -> str:
        params = {k[:40]: v[:40] for k, v in self.params.items()}
        return f"{self.method} {self.signature} body={self.body_params} {params}"


def valid(param: Param) -> st.SearchStrategy[str]:
    if param.name in VALID:
        return st.sampled_from(VALID[param.name])
    if param.kind is Kind.INTEGER:
        low = 0 if param.minimum is None else param.minimum
        return st.integers(min_value=low, max_value=param.maximum or low + 5).map(str)
    if param.kind is Kind.BOOLEAN:
        return st.sampled_from(["true", "false", "True", "False"])
    if param.choices:
        return st.sampled_from([*param.choices, *(c.lower() for c in param.choices)])
    printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.characters()
    words = st.text(printable, min_size=1, max_size=min(param.max_len or 40, 40))
    return words.filter(lambda s: s.isprintable() and bool(s.strip()))


def invalid(param: Param) -> st.SearchStrategy[str]:
    """Just past the declared limits, or simply hostile."""
    edges = list(INVALID.get(param.name, []))
    if param.kind is Kind.INTEGER:
        edges += [str(param.minimum - 1)] if param.minimum is not None else []
        edges += [str(param.maximum + 1)] if param.maximum is not None else []
    if param.choices:
        edges += ["Nonesuch", param.choices[0] + " "]
    if param.max_len:
        edges += ["x" * (param.max_len + 1)]
    return st.one_of(st.sampled_from(edges), HOSTILE_TEXT) if edges else HOSTILE_TEXT


def entries(
    param: Param, indexes: list[str], value: st.SearchStrategy[str]
) -> st.SearchStrategy[Wire]:
    """`Name.N` (a list) or `Name.N.Field` (a struct list) for each index."""
    keys = [
        f"{param.name}.{index}" + (f".{field}" if field else "")
        for index in indexes
        for field in (param.fields or ("",))
    ]
    return st.fixed_dictionaries(dict.fromkeys(keys, value))


@st.composite
def wire(draw: st.DrawFn, param: Param, hostile: bool) -> Wire:
    """One parameter on the wire: a valid value, or (`hostile`) an invalid one."""
    if param.kind not in (Kind.LIST, Kind.STRUCTS):
        return {param.name: draw(invalid(param) if hostile else valid(param))}
    count = draw(st.integers(min_value=1, max_value=3))
    indexes = [str(n) for n in range(1, count + 1)]
    if not hostile:
        return draw(entries(param, indexes, valid(param)))
    spoiled = draw(st.sampled_from(["index", "value", "field", "count"]))
    if spoiled == "index":
        indexes[-1] = draw(st.sampled_from(INDEXES))
    elif spoiled == "count" and param.max_items:
        indexes = [str(n) for n in range(1, param.max_items + 2)]
    elif spoiled == "field":
        return {f"{param.name}.1.{draw(st.sampled_from(['', 'Nope', 'Key.2']))}": "x"}
    value = invalid(param) if spoiled == "value" else valid(param)
    return draw(entries(param, indexes, value))


@st.composite
def odd_names(draw: st.DrawFn, action: Action) -> Wire:
    """Parameters the action does not declare, or declares in another shape."""
    names = [p.name for p in action.params]
    shapes = [
        st.sampled_from(names).map(lambda n: f"{n}.1"),
        st.sampled_from(names).map(lambda n: f"{n}.1.Key.2"),
        st.sampled_from(names).map(lambda n: f"{n}."),
        st.sampled_from(sorted(IGNORED_PARAMS)),
        SENDABLE_TEXT.filter(bool),
    ]
    chosen = draw(st.lists(st.one_of(shapes), min_size=1, max_size=2))
    return {name: draw(HOSTILE_TEXT) for name in chosen}


@st.composite
def api_case(draw: st.DrawFn, action: Action) -> ApiCase:
    """Required parameters (one is left out once in 20), a third of the optional ones, then up
    to three of them spoiled (RegionId, which every action checks first, once in 20); an
    undeclared parameter once in five."""
    # Hypothesis favours the smallest draws: let the smallest be a plain, valid request.
    chosen = [
        p
        for p in action.params
        if draw(st.integers(min_value=0, max_value=19)) < (19 if p.required else 6)
    ]
    others = [p for p in chosen if p.name != "RegionId"]
    spoiled = draw(st.lists(st.sampled_from(others), max_size=3)) if others else []
    if draw(st.integers(min_value=0, max_value=19)) == 7:  # not an edge hypothesis favours
        spoiled += [p for p in chosen if p.name == "RegionId"]
    params = {"Action": action.name}
    for param in chosen:
        params.update(draw(wire(param, hostile=param in spoiled)))
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        params.update(draw(odd_names(action)))
    method = draw(st.sampled_from(["POST", "POST", "GET"]))
    signature = draw(st.sampled_from(["v1", "v1", "v3"]))
    body_params = method == "POST" and draw(st.booleans())
    return ApiCase(params, method, signature, body_params)


API_CASES: st.SearchStrategy[ApiCase] = st.one_of([api_case(action) for action in ACTIONS])
