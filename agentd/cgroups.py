"""cgroup v2, as agentd uses it: one cgroup per run, below the agent's own.

Processes are born in their parent's cgroup and cannot leave it without write access to the
hierarchy, so everything a run's script starts stays in the run's cgroup, whatever its session
or parent: the cgroup is the run. To have the script born there, the agent steps into the run's
cgroup to start it and steps back (`inside`); spawns are serialised meanwhile.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from agentd import processes

RUNS = "agentd-runs"  # below the agent's own cgroup: where its runs' cgroups are made

_moving = threading.Lock()


@functools.lru_cache
def home() -> Path | None:
    """The agent's own cgroup, when cgroup v2 is there and writable (as root); else None.

    AGENTD_CGROUPS=0 turns cgroups off."""
    if os.environ.get("AGENTD_CGROUPS", "1") == "0":
        return None
    mine = _own_path()
    for root, mount in _cgroup2_mounts():
        if mine is not None and (mine + "/").startswith(root.rstrip("/") + "/"):
            path = Path(mount + mine[len(root.rstrip("/")) :])
            return path if _usable(path) else None
    return None


def _own_path() -> str | None:
    """This process's cgroup v2 path ("0::/path" in /proc/self/cgroup)."""
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                if line.startswith("0::"):
                    return line[3:].strip()
    except OSError:
        pass
    return None


def _cgroup2_mounts() -> list[tuple[str, str]]:
    """(root in the hierarchy, mount point) of each cgroup2 mount, from /proc/self/mountinfo."""
    found = []
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                ours, _, theirs = line.partition(" - ")
                if theirs.split(" ", 1)[0] == "cgroup2":
                    fields = ours.split()
                    found.append((_unescape(fields[3]), _unescape(fields[4])))
    except OSError:
        pass
    return found


def _unescape(field: str) -> str:
    """mountinfo writes a space, tab, newline or backslash in a path as \\ooo."""
    for code in ("040", "011", "012", "134"):
        field = field.replace("\\" + code, chr(int(code, 8)))
    return field


def _usable(path: Path) -> bool:
    try:
        (path / RUNS).mkdir(exist_ok=True)
    except OSError:
        return False
    return os.access(path / "cgroup.procs", os.W_OK)


def create(name: str) -> Path | None:
    """A new cgroup for a run, or None where there are none to be had."""
    base = home()
    if base is None:
        return None
    path = base / RUNS / name
    try:
        path.mkdir()
    except OSError:
        return None
    return path


@contextlib.contextmanager
def inside(cgroup: Path) -> Iterator[None]:
    """Runs the block with this process in `cgroup`: the children it starts are born there."""
    back = cgroup.parent.parent  # the agent's own: <home>/RUNS/<run>
    with _moving:
        _move(os.getpid(), cgroup)
        try:
            yield
        finally:
            _move(os.getpid(), back)


def _move(pid: int, cgroup: Path) -> None:
    with open(cgroup / "cgroup.procs", "w") as handle:
        handle.write(str(pid))


def _members(cgroup: Path) -> set[int]:
    """The processes in `cgroup` and its descendants (a script may make cgroups of its own)."""
    found: set[int] = set()
    for directory, _, _ in os.walk(cgroup):
        found.update(_read_pids(Path(directory)))
    return found


def _read_pids(cgroup: Path) -> list[int]:
    try:
        return [int(pid) for pid in (cgroup / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def pids(cgroup: Path) -> set[int]:
    """The members of `cgroup`, never this agent (an agent started by a run's script is one)."""
    return _members(cgroup) - {os.getpid()}


def kill(cgroup: Path) -> int:
    """SIGKILL everything in `cgroup` and wait for it to be gone; returns how many were found.

    The kernel's cgroup.kill (Linux 5.14+) also gets what forks meanwhile; without it, or with
    the agent itself inside, the members are signalled again until none is left."""
    with _moving:  # the agent is not passing through to start a script meanwhile
        found = _members(cgroup)
        if found and os.getpid() not in found and (cgroup / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (cgroup / "cgroup.kill").write_text("1")
        found.discard(os.getpid())
        return len(found | processes.kill_until_gone(lambda: pids(cgroup)))


def remove(cgroup: Path) -> None:
    """Remove `cgroup` (and any its script made). What still runs in it is handed back to the
    agent's own cgroup first: a run's survivors (a daemon it started) live on, outside the run."""
    back = cgroup.parent.parent
    for directory, _, _ in sorted(os.walk(cgroup), key=lambda entry: -len(entry[0])):
        for _ in range(100):  # a survivor may fork while it is moved
            left = _read_pids(Path(directory))
            if not left:
                break
            for pid in left:
                with contextlib.suppress(OSError):
                    _move(pid, back)
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(directory)
