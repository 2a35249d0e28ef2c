"""Durable reports and the ledger of runs.

Every report is written to disk (write, fsync, rename) before it is sent and removed only when
the controller acknowledges it, so a crash of the agent or an outage of the controller loses
nothing. The ledger records each run before it starts: a run delivered again is not run again,
and a run the agent died in is reported as interrupted when it comes back.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from assistcli.api.agent import Report

INTERRUPTED_SEQ = 2**31 - 1  # after any report the dead agent could have written
LEDGER_KEEP = 7 * 24 * 3600.0


def _durable_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself must survive a crash
    finally:
        os.close(directory)


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._changed = threading.Condition()

    def put(self, report: Report) -> None:
        name = f"{time.time_ns():020d}-{report.invoke_id}-{report.run}-{report.seq}.json"
        _durable_write(self.folder / name, json.dumps(report.to_wire()).encode())
        with self._changed:
            self._changed.notify_all()

    def pending(self, limit: int = 200) -> list[tuple[Path, Report]]:
        """The oldest unacknowledged reports, in the order they were written."""
        entries = sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))
        found = []
        for path in entries[:limit]:
            try:
                found.append((path, Report.from_wire(json.loads(path.read_text()))))
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)  # a torn write can only be one never sent
        return found

    def invoke_ids(self) -> set[str]:
        """The tasks with reports not yet acknowledged (from the names: no file is read)."""
        found = set()
        for path in self.folder.glob("*.json"):
            _, _, rest = path.stem.partition("-")  # <time>-<invoke id>-<run>-<seq>
            invoke_id = rest.rsplit("-", 2)[0]
            if invoke_id and not path.name.startswith("."):
                found.add(invoke_id)
        return found

    def remove(self, paths: list[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    def wait(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait(timeout)

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()


class Ledger:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        return self.folder / key

    def seen(self, key: str) -> bool:
        return self._path(key).exists()

    def start(self, key: str) -> None:
        _durable_write(self._path(key), b"started")

    def finish(self, key: str) -> None:
        _durable_write(self._path(key), b"finished")

    def _entries(self) -> list[Path]:
        return [p for p in self.folder.iterdir() if not p.name.startswith(".")]

    def unfinished(self) -> list[str]:
        """Keys of runs that started and never finished: the agent died while they ran."""
        return [p.name for p in self._entries() if p.read_bytes() == b"started"]

    def prune(self, now: float) -> None:
        for path in self._entries():
            if path.read_bytes() == b"finished" and now - path.stat().st_mtime > LEDGER_KEEP:
                path.unlink(missing_ok=True)
