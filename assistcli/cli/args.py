"""Parameters of `assistcli ecs <Action> ...`, parsed as the aliyun CLIs parse them.

Driven by the action table, the result is the flat wire form (`InstanceId.1=a`, `Tag.1.Key=k`):

    --Name value   --Name=value   --Name:value          one value
    --InstanceId.1 a --InstanceId.2 b                     a list, indexes kept as given
    --InstanceId a b   --InstanceIds a b  (aliyuncli)     a list, numbered from the next free index
    --InstanceIds a,b                                     a list, comma-separated
    --InstanceIds '["a","b"]'   "['a','b']"               a list as a JSON (or Python) array
    --Tag.1.Key k --Tag.1.Value v   --Tag '[{"Key":"k"}]' a list of structs
    --Timed false   --Timed                               booleans (true/false, any case)
    --CommandContent-FILE path   file://path   fileb://path   a value read from a file (fileb:
                                                          its bytes, Base64-encoded)

A value may start with `-` (`--PortRange -1/-1`); one starting with `--` needs `=`. The items of
a list are IDs (instances, resources): one holding a space or a comma, or an empty one, is a
usage error that shows the list spellings, not an ID the controller would not find.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from assistcli.api.actions import API_VERSION, IGNORED_PARAMS
from assistcli.api.spec import Action, Kind, Param
from assistcli.cli.exits import CliError, ExitCode, suggest, usage

HELP_TOKENS = ("--help", "-h")
FILE_SUFFIX = "-FILE"
_STRUCT_KEY = re.compile(r"^(?P<index>[^.]+)\.(?P<field>.+)$")


class Parsed(NamedTuple):
    params: dict[str, str]
    help: bool = False


class Target(NamedTuple):
    """What a `--Name` token refers to."""

    wire: str  # the wire name the value is stored under ("" for the API version flag)
    param: Param | None  # None: passed through verbatim (--force, IGNORED_PARAMS)
    many: bool = False  # takes every following value (a list, or a struct list as JSON)


def parse(action: Action, tokens: Sequence[str], *, force: bool = False) -> Parsed:
    """The flat wire parameters `tokens` give `action`."""
    params: dict[str, str] = {}
    wants_help = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token in HELP_TOKENS:
            wants_help = True
            continue
        if not _is_flag(token):
            raise usage(
                f"unexpected argument {token!r}; parameters are given as --Name value",
                tip=_tip(action),
            )
        name, inline = _split_inline(action, token[2:])
        name, from_file = _strip_file_suffix(name)
        target = _target(action, name, force=force)
        values, index = _values(action, target, tokens, index, inline)
        _store(params, target, [_read_value(v, from_file) for v in values])
    return Parsed(params, wants_help)


def _is_flag(token: str) -> bool:
    """`--Name...`; `---...` is a value (PEM armour), as in the aliyun CLI."""
    return token in HELP_TOKENS or (token.startswith("--") and not token.startswith("---"))


def _split_inline(action: Action, flag: str) -> tuple[str, str | None]:
    """`Name=value` and (for known names) `Name:value` -> (name, value); else (flag, None)."""
    name, equals, value = flag.partition("=")
    if equals:
        return name, value
    name, colon, value = flag.partition(":")
    if colon and _known(action, _strip_file_suffix(name)[0]):
        return name, value
    return flag, None


def _strip_file_suffix(name: str) -> tuple[str, bool]:
    if name.endswith(FILE_SUFFIX):
        return name[: -len(FILE_SUFFIX)], True
    return name, False


def _known(action: Action, name: str) -> bool:
    try:
        _target(action, name, force=False)
    except CliError:
        return False
    return True


def _target(action: Action, name: str, *, force: bool) -> Target:
    head, _, rest = name.partition(".")
    params = {p.name: p for p in action.params}
    param = params.get(head)
    if param is not None:
        return _param_target(action, param, name, rest)
    plural = params.get(head[:-1]) if head.endswith("s") and not rest else None
    if plural is not None and plural.kind in (Kind.LIST, Kind.STRUCTS):  # --InstanceIds a b
        return Target(plural.name, plural, many=True)
    if name == "version":
        return Target("", None)
    if name in IGNORED_PARAMS or force:
        return Target(name, None)
    raise _unknown(action, name)


def _param_target(action: Action, param: Param, name: str, rest: str) -> Target:
    if param.kind is Kind.LIST:
        if not rest:
            return Target(param.name, param, many=True)
        if rest.isdigit():
            return Target(name, param)
    elif param.kind is Kind.STRUCTS:
        if not rest:
            return Target(param.name, param, many=True)
        match = _STRUCT_KEY.match(rest)
        if match and match["index"].isdigit() and match["field"] in param.fields:
            return Target(name, param)
    elif not rest:
        return Target(param.name, param)
    raise _unknown(action, name)


def _unknown(action: Action, name: str) -> CliError:
    from assistcli.cli.globals import LONG_SPELLINGS

    candidates = [*_spellings(action), *(flag[2:] for flag in LONG_SPELLINGS)]
    return usage(
        f"'--{name}' is not a valid parameter or flag. See `assistcli ecs {action.name} --help`.",
        suggestions=[f"--{s}" for s in suggest(name, candidates)],
    )


def spellings(param: Param) -> list[str]:
    """How help and completions spell a parameter: `InstanceId.1`, `Tag.1.Key`, `Name`."""
    if param.kind is Kind.LIST:
        return [f"{param.name}.1"]
    if param.kind is Kind.STRUCTS:
        return [f"{param.name}.1.{name}" for name in param.fields]
    return [param.name]


def _spellings(action: Action) -> list[str]:
    names = [name for p in action.params for name in (p.name, *spellings(p))]
    return names + [f"{p.name}s" for p in action.params if p.kind is Kind.LIST]


def _values(
    action: Action, target: Target, tokens: Sequence[str], index: int, inline: str | None
) -> tuple[list[str], int]:
    """The value(s) of the flag before tokens[index], and the index after them."""
    if inline is not None:
        return [inline], index
    flag = tokens[index - 1]
    values: list[str] = []
    while index < len(tokens) and not _is_flag(tokens[index]):
        values.append(tokens[index])
        index += 1
        if not target.many:
            break
    if values:
        return values, index
    if target.param is not None and target.param.kind is Kind.BOOLEAN:
        return ["true"], index  # a bare boolean flag means true
    raise usage(f"{flag} needs a value", tip=_tip(action))


def _store(params: dict[str, str], target: Target, values: list[str]) -> None:
    if target.wire == "":
        _check_version(values[0])
        return
    param = target.param
    if param is not None and param.kind is Kind.BOOLEAN:
        values = [_boolean(target.wire, v) for v in values]
    if target.many and param is not None:
        _store_many(params, param, values)
        return
    if target.wire in params:
        raise usage(f"--{target.wire} is given twice")
    if param is not None and param.kind is Kind.LIST:  # --InstanceId.1 a,b
        _check_item(param.name, f"--{target.wire}", values[0], values[0])
    params[target.wire] = values[0]


def _store_many(params: dict[str, str], param: Param, values: list[str]) -> None:
    """List (or struct list) values, numbered from the next free index."""
    index = 1 + max(_indexes(params, param.name), default=0)
    for value in values:
        for item in _items(param, value):
            if isinstance(item, dict):
                for key, field_value in item.items():
                    params[f"{param.name}.{index}.{key}"] = str(field_value)
            else:
                params[f"{param.name}.{index}"] = str(item)
            index += 1


def _indexes(params: dict[str, str], name: str) -> Iterator[int]:
    for key in params:
        head, dot, rest = key.partition(".")
        index = rest.partition(".")[0]
        if head == name and dot and index.isdigit():
            yield int(index)


def _items(param: Param, value: str) -> list[object]:
    """One value, or the items of a JSON (or Python literal) array."""
    text = value.strip()
    items: list[object]
    if text.startswith("[") and text.endswith("]"):
        items = _array(param.name, text)
    elif param.kind is Kind.STRUCTS:
        raise usage(f"--{param.name} takes a JSON array of objects, or use --{param.name}.N.Key")
    else:
        items = [*value.split(",")]
    if param.kind is Kind.STRUCTS and not all(isinstance(i, dict) for i in items):
        raise usage(f'--{param.name} takes a JSON array of objects, e.g. [{{"Key": "k"}}]')
    if param.kind is Kind.LIST:
        for item in items:
            _check_item(param.name, f"--{param.name}", item, value)
    return items


def _check_item(name: str, flag: str, item: object, value: str) -> None:
    """One ID of a list: not empty, no space or comma, not a nested structure."""
    text = item if isinstance(item, str) else ""
    if isinstance(item, int | float) and not isinstance(item, bool):
        text = str(item)
    if text and not any(c.isspace() or c == "," for c in text):
        return
    what = f"{value!r} has an empty item" if item == "" else f"{item!r} is not one ID"
    raise usage(
        f"{flag}: {what}",
        tip=f"A list is given as --{name}.1 a --{name}.2 b, --{name}s a b, --{name}s a,b "
        f'or --{name}s \'["a","b"]\'.',
    )


def _array(name: str, text: str) -> list[object]:
    import ast
    import json

    try:
        items = json.loads(text)
    except ValueError:
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise usage(f"--{name}: {text!r} is not a JSON array") from None
    if not isinstance(items, list):
        raise usage(f"--{name}: {text!r} is not a JSON array")
    return list(items)


def _boolean(name: str, value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise usage(f"--{name} expects true or false, got {value!r}")
    return lowered


def _check_version(value: str) -> None:
    if value != API_VERSION:
        raise usage(f"--version {value}: this controller serves API version {API_VERSION} only")


def _read_value(value: str, from_file: bool) -> str:
    """The value itself, or a file's content (`--Name-FILE path`, `file://`, `fileb://`)."""
    if from_file:
        return _read_text(value)
    if value.startswith("file://"):
        return _read_text(value[len("file://") :])
    if value.startswith("fileb://"):
        import base64

        return base64.b64encode(_read_bytes(value[len("fileb://") :])).decode("ascii")
    return value


def _read_text(path: str) -> str:
    try:
        return _read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise usage(f"{path} is not UTF-8 text; fileb://{path} sends it Base64-encoded") from None


def _read_bytes(path: str) -> bytes:
    import sys
    from pathlib import Path

    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as error:
        raise usage(f"cannot read {path}: {error.strerror or error}") from None


def missing_required(action: Action, params: dict[str, str]) -> list[str]:
    """Required parameters absent from `params` (RegionId comes from the profile)."""
    absent = []
    for param in action.params:
        if not param.required or param.name == "RegionId":
            continue
        present = any(key == param.name or key.startswith(f"{param.name}.") for key in params)
        if not present:
            absent.append(spellings(param)[0])
    return absent


def check_required(action: Action, params: dict[str, str]) -> None:
    absent = missing_required(action, params)
    if absent:
        names = "\n".join(f"  --{name}" for name in absent)
        raise CliError(
            f"required parameters not assigned:\n{names}",
            code=ExitCode.MISSING,
            tip=_tip(action),
        )


def _tip(action: Action) -> str:
    return f"use `assistcli ecs {action.name} --help` to get more information"
