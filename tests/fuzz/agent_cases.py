"""Agent-protocol requests (register, poll, report) as the fuzz world's registered instance: a
well-formed body with a few fields replaced by hostile JSON (wrong types, nulls, huge numbers,
bad Base64, times out of any range) or dropped, and raw bodies no JSON parser should choke on.
Ids are placeholders for the world's real resources."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from fuzz_world import ACTIVATION, ACTIVATION_CODE, FACTS, INVOCATION
from hostile import BAD_BASE64, HUGE_NUMBERS, JSON_VALUES, TEXTS, b64
from hypothesis import strategies as st

from assistcli.api import agent as proto

DEEP = 100_000  # levels of nesting: far past Python's recursion limit
MANY = 40_000  # list entries: past SQLite's 32,766 query parameters
DAY = 86400.0

INTEGERS = st.one_of(
    st.sampled_from(HUGE_NUMBERS), st.integers(min_value=-(2**70), max_value=2**70)
)
TIMES = st.one_of(
    st.sampled_from(HUGE_NUMBERS),
    st.sampled_from([1e11, 253402300800, 946684799, 2**63]),
    st.builds(lambda: time.time() + 2 * DAY),
    st.floats(allow_nan=True, allow_infinity=True),
)
STRINGS = st.one_of(
    st.sampled_from(TEXTS),
    st.sampled_from(["\ud800", "a\udfffb", "x" * 100_000]),  # lone surrogates, overlong
    st.text(max_size=40),
)
EDGES = ["time", "seq", "run", "exit_code", "dropped"]  # the numbers of a report
# Field -> hostile values made for it (any field may also get any JSON value).
HOSTILE: dict[str, st.SearchStrategy[Any]] = {
    "seq": INTEGERS,
    "run": INTEGERS,
    "exit_code": INTEGERS,
    "dropped": INTEGERS,
    "time": TIMES,
    "output": st.sampled_from([*BAD_BASE64, b64(b"x" * 30_000), b64(b"\xff\xfe")]),
    "event": st.sampled_from(["", "Started", "finish", *proto.EVENTS]),
    "status": st.sampled_from(["", "success", "Running", "Pending", *proto.FINAL_STATUSES]),
    "wait": st.sampled_from([-1, -1e308, 0, 0.0, 1e-9, "0", None, [], {}, True, False]),
    "active": st.one_of(
        st.lists(STRINGS, max_size=4),
        st.lists(JSON_VALUES, max_size=4),
        st.just([INVOCATION] * 3),
    ),
    "interpreters": st.one_of(st.lists(STRINGS, max_size=4), st.lists(JSON_VALUES, max_size=4)),
}


@dataclass(frozen=True)
class AgentCase:
    path: str
    body: str  # JSON text, placeholders unresolved
    credentials: str = "own"  # or "none", "wrong"

    def shown(self) -> str:
        return f"{self.path} {self.credentials} {self.body[:200]}"


def hostile(name: str) -> st.SearchStrategy[Any]:
    return st.one_of(HOSTILE.get(name, STRINGS), JSON_VALUES)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with up to three fields dropped, replaced by a hostile value or added."""
    out = dict(base)
    names = st.sampled_from([*base, *HOSTILE, "unknown"])
    for name in draw(st.lists(names, max_size=3, unique=True)):
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            out.pop(name, None)
        else:
            out[name] = draw(hostile(name))
    return out


def valid_report(event: str, seq: int = 0) -> dict[str, Any]:
    """A report agentd could send about the world's invocation."""
    return {
        "invoke_id": INVOCATION,
        "run": 1,
        "seq": seq,
        "event": event,
        "time": time.time(),
        "output": b64(b"out\n") if event == "output" else "",
        "status": "Success" if event == "finished" else "",
        "exit_code": 0 if event == "finished" else None,
        "error_code": "",
        "error_info": "",
        "dropped": 0,
    }


@st.composite
def report(draw: st.DrawFn) -> dict[str, Any]:
    event = draw(st.sampled_from(proto.EVENTS))
    base = valid_report(event, draw(st.integers(min_value=0, max_value=50)))
    edge = st.sampled_from(EDGES).flatmap(lambda name: HOSTILE[name].map(lambda v: {name: v}))
    return draw(st.one_of(mutated(base), edge.map(lambda one: {**base, **one})))


def text(body: Any) -> str:
    return json.dumps(body)  # NaN and Infinity as Python's encoder writes them


POLLS = st.builds(
    lambda body: AgentCase(proto.POLL, text(body)),
    mutated({**FACTS, "wait": 0, "active": []}),
)
REPORTS = st.one_of(
    st.builds(
        lambda reports: AgentCase(proto.REPORT, text({"reports": reports})),
        st.one_of(report().map(lambda one: [one]), st.lists(report(), max_size=3)),
    ),
    st.builds(
        lambda value: AgentCase(proto.REPORT, text({"reports": value})),
        JSON_VALUES,
    ),
)
REGISTRATIONS = st.builds(
    lambda body: AgentCase(proto.REGISTER, text(body)),
    mutated(
        {
            **FACTS,
            "activation_id": ACTIVATION,
            "activation_code": ACTIVATION_CODE,
            "instance_name": "",
        }
    ),
)


def edge_reports() -> list[AgentCase]:
    """One otherwise valid report for each edge value of each number of a report."""
    values: dict[str, list[Any]] = {name: list(HUGE_NUMBERS) for name in EDGES}
    values["time"] += [1e11, 253402300800, 946684799, time.time() + 2 * DAY]
    return [
        AgentCase(proto.REPORT, text({"reports": [{**valid_report(event), name: value}]}))
        for name in EDGES
        for value in values[name]
        for event in (["started", "finished"] if name == "time" else ["finished"])
    ]


def raw_bodies() -> list[AgentCase]:
    """Bodies that are not merely wrong but built to break a parser or a query."""
    nested = ["[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP]
    deep_values = [
        *(json.dumps({"reports": "@"}).replace('"@"', n) for n in nested),
        *(json.dumps({**FACTS, "active": "@"}).replace('"@"', n) for n in nested),
        *(json.dumps({**FACTS, "hostname": "@"}).replace('"@"', n) for n in nested),
    ]
    many_reports = [
        {"invoke_id": f"t-{i}", "seq": 0, "event": "output", "time": time.time()}
        for i in range(MANY)
    ]
    cases = [AgentCase(path, body) for path in (proto.POLL, proto.REPORT) for body in deep_values]
    cases += [AgentCase(proto.REGISTER, body) for body in nested]
    cases += [
        AgentCase(
            proto.POLL, text({**FACTS, "wait": 0, "active": [f"t-{i}" for i in range(MANY)]})
        ),
        AgentCase(proto.REPORT, text({"reports": many_reports})),
        AgentCase(proto.POLL, '{"wait": 1' + "0" * 5000 + "}"),
        AgentCase(proto.REPORT, '{"reports": [{"seq": 1e999}]}'),
    ]
    return cases


AGENT_CASES: st.SearchStrategy[AgentCase] = st.one_of(
    REPORTS,
    REPORTS,
    POLLS,
    REGISTRATIONS,
    st.builds(
        lambda case, who: AgentCase(case.path, case.body, who),
        st.one_of(POLLS, REPORTS),
        st.sampled_from(["none", "wrong"]),
    ),
)
# Sent first, each once: what the brief of the fuzz suite names, whatever hypothesis draws.
LANDMINES = [*edge_reports(), *raw_bodies()]
