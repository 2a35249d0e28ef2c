"""A task's Launcher: the command line its script runs with instead of the type's interpreter.

    python3 -u {{ACS::ScriptFileName|Ext(".py")}}

`{{ACS::ScriptFileName}}` is the script file the agent writes; `|Ext(".py")` gives that file its
extension (some interpreters insist on one). The line is split shell-style but never run by a
shell. A launcher that does not name the script file gets it as its last argument.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_SCRIPT_FILE = re.compile(
    r"\s*ACS::ScriptFileName\s*(?:\|\s*Ext\(\s*\"([^\"]*)\"\s*\)\s*)?", re.IGNORECASE
)
_EXTENSION = re.compile(r"\.?[A-Za-z0-9_-][A-Za-z0-9_.-]{0,31}")


class LauncherError(ValueError):
    """A launcher the agent cannot run; the message says why."""


@dataclass(frozen=True)
class Launcher:
    words: list[str]  # the command line, `marker` standing for the script file
    marker: str
    extension: str | None  # asked for with Ext(...); None: the command type's own

    def argv(self, script_path: str) -> list[str]:
        return [word.replace(self.marker, script_path) for word in self.words]


def parse(line: str) -> Launcher:
    # An alphanumeric marker survives any quoting, so a path with spaces stays one argument.
    marker = "agentdscript" + secrets.token_hex(8)
    extensions: set[str] = set()

    def script_file(match: re.Match[str]) -> str:
        found = _SCRIPT_FILE.fullmatch(match.group(1))
        if found is None:
            raise LauncherError(f"unknown placeholder in Launcher: {match.group(0)}")
        if found.group(1) is not None:
            extensions.add(_extension(found.group(1)))
        return marker

    text = _PLACEHOLDER.sub(script_file, line)
    if len(extensions) > 1:
        raise LauncherError(f"Launcher asks for several extensions: {sorted(extensions)}")
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise LauncherError(f"Launcher cannot be split into words: {error}") from None
    if not words:
        raise LauncherError("Launcher names no program")
    if marker not in text:
        words.append(marker)
    return Launcher(words, marker, extensions.pop() if extensions else None)


def _extension(text: str) -> str:
    if not _EXTENSION.fullmatch(text):
        raise LauncherError(f"not a file extension: {text!r}")
    return text if text.startswith(".") else "." + text
