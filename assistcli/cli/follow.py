"""Runs' output as it streams (`assistcli output`, `--watch`), and an exit code for how they ended.

One instance's output is written as it came, bytes unchanged. Several instances' are written a
line at a time, each line prefixed with its instance id, as pssh -P and salt do. Bytes the
controller did not keep (past its --output-cap, or purged) are noted on stderr. With `--watch`,
a progress line on a terminal (stderr) counts the runs ended, failed, running and waiting, and
a table sums them up at the end.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, BinaryIO

from assistcli.api.outputstream import Frame, Instances, Output, State

if TYPE_CHECKING:
    from rich.console import Console

    from assistcli.config import Settings


class Ended(enum.IntEnum):
    """How the runs followed ended; with several instances, the highest code applies."""

    SUCCESS = 0
    FAILED = 10  # a script exited with another code than 0
    TIMEOUT = 11
    STOPPED = 12  # Terminated, or Cancelled before it started
    NOT_RUN = 13  # Invalid, Aborted (never delivered), Error
    RUNNING = 14  # without --follow: a run had not ended yet


OUTCOMES = {
    "Success": Ended.SUCCESS,
    "Failed": Ended.FAILED,
    "Timeout": Ended.TIMEOUT,
    "Terminated": Ended.STOPPED,
    "Cancelled": Ended.STOPPED,
    "Invalid": Ended.NOT_RUN,
    "Aborted": Ended.NOT_RUN,
    "Error": Ended.NOT_RUN,
}


def ended(state: dict[str, Any]) -> Ended:
    if not state.get("Ended"):
        return Ended.RUNNING
    return OUTCOMES.get(str(state.get("InvocationStatus")), Ended.NOT_RUN)


class Writer:
    """Writes each instance's output to `out`: raw for one instance, prefixed lines for more."""

    def __init__(self, out: BinaryIO, prefixed: bool) -> None:
        self.out, self.prefixed = out, prefixed
        self._next: dict[str, int] = {}  # instance -> the offset expected next
        self._partial: dict[str, bytes] = {}  # instance -> the start of a line

    def output(self, frame: Output) -> None:
        expected = self._next.get(frame.instance_id, 0)
        if frame.offset > expected:
            self._flush(frame.instance_id)
            gap = frame.offset - expected
            note(f"{frame.instance_id}: {gap} bytes of output were not kept")
        self._next[frame.instance_id] = frame.offset + len(frame.data)
        if not self.prefixed:
            self.out.write(frame.data)
        else:
            text = self._partial.pop(frame.instance_id, b"") + frame.data
            *lines, rest = text.split(b"\n")
            prefix = frame.instance_id.encode() + b": "
            self.out.write(b"".join(prefix + line + b"\n" for line in lines))
            if rest:
                self._partial[frame.instance_id] = rest
        self.out.flush()

    def end(self, instance_id: str) -> None:
        """The instance's run ended: its last line, unfinished, is written all the same."""
        self._flush(instance_id)
        self.out.flush()

    def _flush(self, instance_id: str) -> None:
        rest = self._partial.pop(instance_id, b"")
        if rest:
            self.out.write(instance_id.encode() + b": " + rest + b"\n")


def note(text: str) -> None:
    sys.stderr.write(f"assistcli: {text}\n")
    sys.stderr.flush()


class Progress:
    """`3 of 10 ended (1 failed), 5 running, 2 waiting` on the terminal's last line (stderr),
    cleared while output is written."""

    def __init__(self, console: Console | None) -> None:
        self.console = console
        self._shown = ""  # the line on the terminal now

    def clear(self) -> None:
        if self.console is not None and self._shown:
            self.console.file.write("\r\x1b[2K")
            self.console.file.flush()
            self._shown = ""

    def show(self, invoke_id: str, states: dict[str, dict[str, Any]]) -> None:
        line = f"[bold]{invoke_id}[/]: {summary_line(states)}"
        if self.console is None or line == self._shown:
            return
        self.clear()
        self.console.print(line, end="")
        self.console.file.flush()
        self._shown = line


def summary_line(states: dict[str, dict[str, Any]]) -> str:
    outcomes = [ended(state) for state in states.values()]
    done = sum(outcome is not Ended.RUNNING for outcome in outcomes)
    failed = sum(outcome not in (Ended.RUNNING, Ended.SUCCESS) for outcome in outcomes)
    running = sum(
        state.get("InvocationStatus") in ("Running", "Stopping") and not state.get("Ended")
        for state in states.values()
    )
    waiting = len(states) - done - running
    parts = [f"{done} of {len(states)} ended", f"({failed} failed)" if failed else ""]
    text = " ".join(part for part in parts if part)
    return f"{text}, {running} running, {waiting} waiting"


def summary(console: Console, states: dict[str, dict[str, Any]]) -> None:
    """A table of each instance's outcome."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("InstanceId", "InvocationStatus", "ExitCode", "ErrorCode", "Dropped"):
        table.add_column(column)
    for instance_id, state in states.items():
        status = str(state.get("InvocationStatus", ""))
        style = "green" if status == "Success" else "red" if state.get("Ended") else ""
        exit_code = state.get("ExitCode")
        table.add_row(
            instance_id,
            f"[{style}]{status}[/]" if style else status,
            "" if exit_code is None else str(exit_code),
            str(state.get("ErrorCode") or ""),
            str(state.get("Dropped", 0)),
        )
    console.print(table)


def print_output(
    settings: Settings,
    invoke_id: str,
    instance_ids: Iterable[str] = (),
    *,
    follow: bool = False,
    watch: bool = False,
) -> int:
    """Print the invocation's output (as it comes until every run ends, with `follow`); the exit
    code says how the runs ended (Ended)."""
    from rich.console import Console

    from assistcli import streamclient
    from assistcli.cli.exits import use_color

    out = sys.stdout.buffer
    terminal = watch and sys.stderr.isatty()
    progress = Progress(Console(stderr=True, highlight=False) if terminal else None)
    states: dict[str, dict[str, Any]] = {}
    writer = Writer(out, prefixed=True)
    stream = streamclient.frames(settings, invoke_id, list(instance_ids), follow=follow)
    try:
        for frame in stream:
            _apply(frame, states, writer, progress)
            progress.show(invoke_id, states)
    finally:
        progress.clear()
    if watch:
        summary(Console(no_color=not use_color(sys.stdout)), states)
    return max((ended(state) for state in states.values()), default=Ended.SUCCESS)


def _apply(
    frame: Frame, states: dict[str, dict[str, Any]], writer: Writer, progress: Progress
) -> None:
    if isinstance(frame, Instances):
        writer.prefixed = len(frame.instance_ids) > 1
        states.update({instance_id: {} for instance_id in frame.instance_ids})
    elif isinstance(frame, Output):
        progress.clear()
        writer.output(frame)
    elif isinstance(frame, State):
        states[frame.instance_id] = frame.fields
        if frame.ended:
            writer.end(frame.instance_id)
