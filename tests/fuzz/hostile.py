"""Hostile values: what a careless or malicious client might send, as wire text (the API) and as
JSON values (the agent protocol)."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import strategies as st

# Text that UTF-8 can carry (a lone surrogate cannot even be sent as a query parameter).
SENDABLE = st.characters(blacklist_categories=("Cs",))
SENDABLE_TEXT = st.text(SENDABLE, max_size=40)

NUMBERS = [
    "-1",
    "0",
    "00",
    "+5",
    " 7 ",
    "1.5",
    "1e3",
    "1e309",
    "0x10",
    "1_000",
    "٣",  # an Arabic-Indic digit: int() takes it
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    str(2**31 - 1),
    str(2**31),
    str(2**32),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    "9" * 30,
    "4" * 5000,  # past int()'s 4300 digits
]
TEXTS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "%00",
    "%ZZ",
    "\n",
    "\r\n",
    "\t",
    "\u202e",
    "\ufeff",
    "é中😀",
    "' OR 1=1 --",
    '"; DROP TABLE commands; --',
    "*",
    "%",
    "_",
    "\\",
    "../../etc/passwd",
    "null",
    "true",
    "True",
    "false",
    "maybe",
    "x" * 129,
    "x" * 256,
    "x" * 1025,
    "x" * 70_000,
]
BAD_BASE64 = ["=", "====", "YQ", "Y===", "@@@@", "YW Jj", "/w==", "gA==", "-_-_", "A" * 70_001]
BAD_JSON = [
    "[",
    "{",
    "[]",
    "1",
    '"s"',
    "null",
    "NaN",
    '{"a":NaN}',
    '{"a":1}',
    '{"a":null}',
    '{"a":["b"]}',
    '{"a":{"b":"c"}}',
    '{"":"x"}',
    '{"a":"b","a":"c"}',
    '{"a":"' + "x" * 70_000 + '"}',
    "{" + ",".join(f'"k{i}":"v"' for i in range(11)) + "}",
    '{"' + "k" * 65 + '":"v"}',
    '{"a":1' + "0" * 5000 + "}",
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
]
# List indexes and struct fields: N counts from 1.
INDEXES = ["0", "-1", "01", "", " 1", "1.5", "a", "٣", "1e3", "9" * 19, "9" * 20, "1" * 4400]
HOSTILE_TEXT = st.one_of(
    st.sampled_from(NUMBERS + TEXTS + BAD_BASE64 + BAD_JSON),
    SENDABLE_TEXT,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# The agent protocol: JSON values of every type, and numbers at the edges of every range.
HUGE_NUMBERS: list[Any] = [
    -1,
    -(2**31) - 1,
    2**31 - 1,
    2**31,
    2**32,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**30,
    10**400,
    1e18,
    -1e18,
    1e308,
    1.5,
    0.0,
    -0.0,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
]
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(HUGE_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),  # lone surrogates included: JSON escapes them
    st.sampled_from(TEXTS + BAD_BASE64),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
