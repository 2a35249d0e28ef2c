"""Generate docs/api.md from the action table: `python -m assistcli.docgen docs/api.md`."""

from __future__ import annotations

import sys
from pathlib import Path

from assistcli.api.actions import ACTIONS, API_VERSION, IGNORED_PARAMS
from assistcli.api.spec import Kind, Param
from assistcli.errors import API_ERRORS

WIRE_FORM = {
    Kind.STRING: "String",
    Kind.INTEGER: "Integer",
    Kind.BOOLEAN: "Boolean",
    Kind.LIST: "List (`{name}.N`)",
    Kind.STRUCTS: "List (`{name}.N.{field}`)",
    Kind.JSON: "JSON string",
}


def _type(param: Param) -> str:
    field = "/".join(param.fields)
    return WIRE_FORM[param.kind].format(name=param.name, field=field)


def _notes(param: Param) -> str:
    notes = [param.help]
    if param.choices:
        notes.append("One of " + ", ".join(f"`{c}`" for c in param.choices) + ".")
    if param.default not in (None, ""):
        notes.append(f"Default `{param.default}`.")
    return _cell(" ".join(n for n in notes if n))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    lines = [
        "# API reference",
        "",
        "<!-- Generated from assistcli/api/actions.py by `make docs`; do not edit. -->",
        "",
        f"Every action is served at `/` (GET or POST), API version `{API_VERSION}`, signed with "
        "signature V1 (HMAC-SHA1) or V3 (ACS3-HMAC-SHA256). "
        f"{', '.join(f'`{p}`' for p in sorted(IGNORED_PARAMS))} are accepted and ignored "
        "everywhere.",
        "",
        "| Action | Summary |",
        "|---|---|",
        *(f"| [{a.name}](#{a.name.lower()}) | {a.summary} |" for a in ACTIONS),
        "",
    ]
    for action in ACTIONS:
        lines += [f"## {action.name}", "", action.summary, ""]
        if action.idempotent:
            lines += ["Idempotent with `ClientToken`.", ""]
        lines += ["| Parameter | Type | Required | Notes |", "|---|---|---|---|"]
        lines += [
            f"| {p.name} | {_type(p)} | {'yes' if p.required else ''} | {_notes(p)} |"
            for p in action.params
        ]
        lines.append("")
    lines += ["## Error codes", "", "| Code | HTTP status | Message |", "|---|---|---|"]
    lines += [
        f'| <a id="{code}"></a>`{code}` | {status} | {_cell(message)} |'  # Recommend's #CODE
        for code, (status, message) in sorted(API_ERRORS.items())
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(render(), encoding="utf-8")
