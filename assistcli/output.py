"""Rendering API responses: the aliyun CLI's JSON by default, YAML, text, tables, JMESPath.

- json: keys sorted, TAB indent, no ASCII escaping, exactly as `aliyun` prints it;
- a `--cli-query` result as compact JSON (also aliyun's choice);
- `cols=A,B [rows=EXPR] [num=true]`: aliyun's table (Go tabwriter, ` | ` separators);
- table: the same table with its rows found automatically, and the action's columns
  (`assistcli.api.columns`) or else every scalar field, each cell on one line and cut short;
- yaml, and text (tab-separated values, for shell scripts).

jmespath, yaml and rich are imported only when a format needs them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

FORMATS = ("json", "yaml", "text", "table")
CELL_WIDTH = 40  # characters of a value an automatic table shows (a Base64 Output is 24 KB)


class OutputError(ValueError):
    """An --output or --cli-query that cannot be applied."""


class OutputSpec(NamedTuple):
    format: str = "json"
    cols: tuple[str, ...] = ()
    rows: str | None = None
    num: bool = False
    preferred: tuple[str, ...] = ()  # an automatic table's columns, where the rows have them


def parse_output(fields: Sequence[str]) -> OutputSpec:
    """`--output` fields: a format name, or aliyun's `cols=... rows=... num=...`."""
    if not fields:
        return OutputSpec()
    if len(fields) == 1 and "=" not in fields[0]:
        if fields[0] not in FORMATS:
            raise OutputError(f"unknown output format {fields[0]!r}; use {', '.join(FORMATS)}")
        return OutputSpec(format=fields[0])
    values = dict(_field(text) for text in fields)
    unknown = set(values) - {"cols", "rows", "num"}
    if unknown:
        raise OutputError(f"unknown --output field {sorted(unknown)[0]!r}; use cols, rows, num")
    if not values.get("cols"):
        raise OutputError("you need to assign cols=col1,col2,... with --output")
    return OutputSpec(
        format="table",
        cols=tuple(_unquote(values["cols"]).split(",")),
        rows=values.get("rows") or None,
        num=values.get("num", "").lower() == "true",
    )


def _field(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals:
        raise OutputError(f"--output field {text!r} is not key=value")
    return key.strip(), value


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def search(expression: str, data: Any) -> Any:
    import jmespath
    import jmespath.exceptions

    try:
        return jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as error:
        raise OutputError(f"jmespath: '{expression}' failed {error}") from None


def render(data: Any, spec: OutputSpec, *, query: str | None = None, color: bool = False) -> str:
    """`data` as text (without a final newline)."""
    if query:
        data = search(query, data)
        if spec.format == "json":
            return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if spec.format == "yaml":
        return _yaml(data)
    if spec.format == "text":
        return "\n".join(_text_lines(data))
    if spec.format == "table":
        return _table(data, spec)
    return pretty_json(data, color=color)


def pretty_json(data: Any, *, color: bool = False) -> str:
    text = json.dumps(data, indent="\t", sort_keys=True, ensure_ascii=False)
    return _highlight(text) if color else text


def _highlight(text: str) -> str:
    import io

    from rich.console import Console
    from rich.json import JSON

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, soft_wrap=True, highlight=False)
    console.print(JSON(text, indent="\t", sort_keys=True, ensure_ascii=False))
    return buffer.getvalue().rstrip("\n")


def _yaml(data: Any) -> str:
    if not isinstance(data, dict | list):
        return scalar(data)
    import yaml

    dumped = yaml.safe_dump(data, allow_unicode=True, sort_keys=True, default_flow_style=False)
    return str(dumped).rstrip("\n")


def scalar(value: Any) -> str:
    """A value as Go's fmt.Sprint shows it (what aliyun's tables and waiters compare)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _text_lines(value: Any) -> list[str]:
    """Tab-separated scalars, one line per object or list of scalars (AWS CLI's text)."""
    if isinstance(value, dict):
        items = sorted(value.items())
        flat = [scalar(v) for _, v in items if not isinstance(v, dict | list)]
        lines = ["\t".join(flat)] if flat else []
        return lines + [
            line for _, v in items if isinstance(v, dict | list) for line in _text_lines(v)
        ]
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return ["\t".join(scalar(item) for item in value)] if value else []
        return [line for item in value for line in _text_lines(item)]
    return ["" if value is None else scalar(value)]


def find_collection(data: Any, depth: int = 3) -> list[str] | None:
    """The path to the first list of a response, e.g. ["Commands", "Command"]."""
    if not isinstance(data, dict) or depth == 0:
        return None
    for key, value in data.items():
        if isinstance(value, list):
            return [key]
        found = find_collection(value, depth - 1)
        if found is not None:
            return [key, *found]
    return None


def _table(data: Any, spec: OutputSpec) -> str:
    if not spec.cols:
        return _auto_table(data, spec.preferred)
    rows_expression = f"RootFilter[0].{spec.rows}" if spec.rows else "RootFilter"
    rows = search(rows_expression, {"RootFilter": [data]})
    if not isinstance(rows, list):
        raise OutputError(f"jmespath: '{rows_expression}' failed Need Array Expr")
    names, cells = _columns(spec.cols, rows)
    if spec.num:
        names = ["Num", *names]
        cells = [[str(i), *row] for i, row in enumerate(cells)]
    return tabulate(names, cells)


def _columns(cols: Sequence[str], rows: list[Any]) -> tuple[list[str], list[list[str]]]:
    """Header and cells; rows that are arrays take `name:index` columns, as in aliyun."""
    if rows and isinstance(rows[0], list):
        pairs = [col.partition(":") for col in cols]
        if any(not sep or not index.isdigit() for _, sep, index in pairs):
            raise OutputError("colNames must be string:number format, like 'name:0'")
        names = [name for name, _, _ in pairs]
        cells = [[_pick(row, int(index)) for _, _, index in pairs] for row in rows]
        return names, cells
    return list(cols), [[scalar(search(col, row)) for col in cols] for row in rows]


def _pick(row: list[Any], index: int) -> str:
    return scalar(row[index] if index < len(row) else None)


def _auto_table(data: Any, preferred: Sequence[str]) -> str:
    path = find_collection(data)
    rows: Any = data
    for key in path or []:
        rows = rows[key]
    rows = rows if isinstance(rows, list) else [rows]
    objects = [row for row in rows if isinstance(row, dict)]
    if not objects:
        if preferred and not rows and path:  # an empty list: the header says what it lists
            return tabulate(list(preferred), [])
        return tabulate(["Value"], [[_cell(row)] for row in rows])
    names = [name for name in preferred if name in objects[0]]
    if not names:
        names = [k for k, v in objects[0].items() if not isinstance(v, dict | list)]
    return tabulate(names, [[_cell(row.get(name)) for name in names] for row in objects])


def _cell(value: Any) -> str:
    """One line of at most CELL_WIDTH characters: a table is for reading at a glance."""
    text = scalar(value).replace("\r", "").replace("\n", "\\n").replace("\t", " ")
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 3] + "..."


def tabulate(names: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Go's tabwriter(padding 1, Debug) over `A\\t B` lines: `A | B`, as aliyun prints tables."""
    lines = [list(names), ["-" * len(name) for name in names], *(list(row) for row in rows)]
    lines = [[cell if i == 0 else f" {cell}" for i, cell in enumerate(line)] for line in lines]
    widths = [max(len(line[i]) for line in lines) + 1 for i in range(len(names) - 1)]
    return "\n".join(
        "".join(cell.ljust(width) + "|" for cell, width in zip(line, widths, strict=False))
        + line[-1]
        for line in lines
    )
