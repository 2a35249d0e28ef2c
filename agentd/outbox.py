"""Durable reports and the ledger of runs.

Every report is written to disk (write, fsync, rename) before it is sent and removed only when
the controller acknowledges it, so a crash of the agent or an outage of the controller loses
nothing. The ledger records each run before it starts: a run delivered again is not run again,
and a run the agent died in is reported as interrupted when it comes back.

A full disk stops neither: a report the disk refuses is held in memory and sent all the same
(written when there is room), unless it is an output chunk, which is lost and counted; a ledger
entry that cannot be replaced is overwritten in place.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import time
from pathlib import Path

from assistcli.api.agent import Report

INTERRUPTED_SEQ = 2**31 - 1  # after any report the dead agent could have written
LEDGER_KEEP = 7 * 24 * 3600.0
FINISHED = b"finished"


class Unwritable(Exception):
    """The state directory refused a write (a full disk, most likely)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(f"the agent could not write its state: {error.strerror or error}")
        self.error = error


def _durable_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()  # a half-written copy must not take what room is left
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself must survive a crash
    finally:
        os.close(directory)


def _overwrite(path: Path, data: bytes) -> None:
    """Rewrite an existing file in place: it needs no new block, so a full disk allows it."""
    with open(path, "r+b") as handle:
        handle.write(data)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())


def _encode(report: Report) -> bytes:
    return json.dumps(report.to_wire()).encode()


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._changed = threading.Condition()
        self._held: dict[str, Report] = {}  # by file name: reports the disk had no room for
        self._held_lock = threading.Lock()

    def put(self, report: Report, *, keep: bool = True) -> Unwritable | None:
        """Store `report` for the reporter to send. None once it is on disk; else why not: then
        a report to `keep` is held in memory, sent all the same and written when there is room,
        and any other is lost."""
        name = f"{time.time_ns():020d}-{report.invoke_id}-{report.run}-{report.seq}.json"
        problem = None
        try:
            _durable_write(self.folder / name, _encode(report))
        except OSError as error:
            problem = Unwritable(error)
            if keep:
                with self._held_lock:
                    self._held[name] = report
        self.wake()
        return problem

    def _write_held(self) -> None:
        with self._held_lock:
            for name, report in sorted(self._held.items()):
                try:
                    _durable_write(self.folder / name, _encode(report))
                except OSError:
                    return  # still no room
                del self._held[name]

    def pending(self, limit: int = 200) -> list[tuple[Path, Report]]:
        """The oldest unacknowledged reports, in the order they were written."""
        self._write_held()
        with self._held_lock:
            held = dict(self._held)
        stored = {p.name for p in self.folder.glob("*.json") if not p.name.startswith(".")}
        found = []
        for name in sorted(stored | held.keys())[:limit]:
            path = self.folder / name
            if name in held:
                found.append((path, held[name]))
                continue
            try:
                found.append((path, Report.from_wire(json.loads(path.read_text()))))
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)  # a torn write can only be one never sent
        return found

    def invoke_ids(self) -> set[str]:
        """The tasks with reports not yet acknowledged (from the names: no file is read)."""
        found = set()
        with self._held_lock:
            held = [self.folder / name for name in self._held]
        for path in [*self.folder.glob("*.json"), *held]:
            _, _, rest = path.stem.partition("-")  # <time>-<invoke id>-<run>-<seq>
            invoke_id = rest.rsplit("-", 2)[0]
            if invoke_id and not path.name.startswith("."):
                found.add(invoke_id)
        return found

    def remove(self, paths: list[Path]) -> None:
        for path in paths:
            with self._held_lock:
                if self._held.pop(path.name, None) is not None:
                    continue
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
        self._unwritten: set[str] = set()  # runs seen, though the disk refused their entry

    def _path(self, key: str) -> Path:
        return self.folder / key

    def seen(self, key: str) -> bool:
        return key in self._unwritten or self._path(key).exists()

    def start(self, key: str, record: dict[str, str] | None = None) -> None:
        """The run starts; then (with `record`) where its processes and files are to be found.

        :raises Unwritable: the disk refused it (the run must not start)."""
        self._write(key, b"started" + (b"\n" + json.dumps(record).encode() if record else b""))

    def record(self, key: str) -> dict[str, str]:
        """What `start` was told of a run (empty if nothing)."""
        try:
            _, _, data = self._path(key).read_bytes().partition(b"\n")
            found = json.loads(data) if data else {}
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def finish(self, key: str, stored: bool = True, final: Report | None = None) -> None:
        """The run is over, and `final` is the report that said so, kept to be sent again should
        the controller deliver the run again (its record was restored from a backup, say). Not
        `stored`: its outcome is only in memory (the disk is full), so a restart reports it all
        the same, though nothing of it runs any more."""
        if not stored:
            return self._write(key, b"ended")
        if final is not None:
            with contextlib.suppress(Unwritable):  # without it, on a disk with no room for it
                return self._write(key, FINISHED + b"\n" + _encode(final))
        self._write(key, FINISHED)

    def outcome(self, key: str) -> Report | None:
        """The report that ended a finished run, when the ledger kept it."""
        try:
            state, _, data = self._path(key).read_bytes().partition(b"\n")
            return Report.from_wire(json.loads(data)) if state == FINISHED and data else None
        except (OSError, ValueError, RecursionError):  # a damaged entry is not sent
            return None

    def ended(self, key: str) -> bool:
        """The run is over, but its outcome may be lost (see `finish`)."""
        try:
            return self._path(key).read_bytes() == b"ended"
        except OSError:
            return False

    def _write(self, key: str, data: bytes) -> None:
        try:
            _durable_write(self._path(key), data)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT) and self._path(key).exists():
                with contextlib.suppress(OSError):
                    return _overwrite(self._path(key), data)
            self._unwritten.add(key)
            raise Unwritable(error) from error

    def _entries(self) -> list[Path]:
        return [p for p in self.folder.iterdir() if not p.name.startswith(".")]

    def unfinished(self) -> list[str]:
        """Keys of runs that started and never finished (the agent died while they ran), or
        whose outcome may be lost."""
        return [
            p.name
            for p in self._entries()
            if p.read_bytes().startswith(b"started") or p.read_bytes() == b"ended"
        ]

    def prune(self, now: float) -> None:
        for path in self._entries():
            finished = path.read_bytes().partition(b"\n")[0] == FINISHED
            if finished and now - path.stat().st_mtime > LEDGER_KEEP:
                path.unlink(missing_ok=True)
