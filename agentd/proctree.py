"""Everything a run started, signalled and killed as one, even what left the script's session.

A script's children may leave its process group and session (`setsid`, daemons that fork twice),
so killing the group misses them. A run's processes are found in one of two ways:

- its own cgroup (Linux, cgroup v2 writable: the agent runs as root). The script is born in it and
  nothing it starts can leave, so the cgroup holds them all; the kernel kills them at once.
- tracking, elsewhere: the run's environment carries a cookie (AGENTD_RUN_COOKIE). The run is
  every process that has the cookie, every process in the session of one, and their descendants,
  read from /proc. A process that drops the cookie from its environment and leaves the run's
  sessions and family (say `env -i setsid cmd` from a process that then exits) is not found.

`record()` says how to find the run again; after the agent's own death, `end_recorded` kills
what is left of it at the agent's restart.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from agentd import cgroups, processes

logger = logging.getLogger("agentd")

COOKIE = "AGENTD_RUN_COOKIE"


class Tree:
    """The processes of one run (none until the script is spawned inside `spawning()`)."""

    def __init__(self, cgroup: Path | None = None, cookie: str = "") -> None:
        self.cgroup = cgroup
        self.cookie = cookie

    @classmethod
    def create(cls, key: str) -> Tree:
        name = f"{key}-{secrets.token_hex(6)}"
        cgroup = cgroups.create(name)
        return cls(cgroup=cgroup) if cgroup is not None else cls(cookie=name)

    @classmethod
    def recorded(cls, record: dict[str, str]) -> Tree | None:
        if record.get("cgroup"):
            return cls(cgroup=Path(record["cgroup"]))
        if record.get("cookie"):
            return cls(cookie=record["cookie"])
        return None

    def record(self) -> dict[str, str]:
        return {"cgroup": str(self.cgroup)} if self.cgroup else {"cookie": self.cookie}

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        if self.cgroup is not None:
            return env
        return dict(env, **{COOKIE: self.cookie})

    @contextlib.contextmanager
    def spawning(self) -> Iterator[None]:
        """Start the script in this block: in the run's cgroup, when it has one."""
        if self.cgroup is None:
            yield
        else:
            with cgroups.inside(self.cgroup):
                yield

    def members(self) -> set[int]:
        if self.cgroup is not None:
            return cgroups.pids(self.cgroup)
        return _tracked(f"{COOKIE}={self.cookie}".encode())

    def signal(self, signum: int) -> None:
        processes.signal_all(self.members(), signum)

    def wait_gone(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every process of the run to end; False if some
        did not."""
        deadline = time.monotonic() + timeout
        while self.members():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def kill(self) -> int:
        """SIGKILL every process of the run until none is left; returns how many there were."""
        if self.cgroup is not None:
            return cgroups.kill(self.cgroup)
        return len(processes.kill_until_gone(self.members))

    def close(self) -> None:
        """Forget the run: its cgroup is removed, what still runs in it lives on outside."""
        if self.cgroup is not None:
            try:
                cgroups.remove(self.cgroup)
            except OSError as error:
                logger.warning("cannot remove the cgroup %s: %s", self.cgroup, error)


def end_recorded(record: dict[str, str]) -> int:
    """Kill what is left of a run whose agent died (from its record); returns how many."""
    tree = Tree.recorded(record)
    if tree is None:
        return 0
    if tree.cgroup is not None and not tree.cgroup.is_dir():
        return 0  # gone with a reboot, or never made
    killed = tree.kill()
    tree.close()
    return killed


def _tracked(cookie: bytes) -> set[int]:
    """The live processes with `cookie`, those in the sessions of one, and their descendants."""
    me = os.getpid()
    table = [p for p in processes.table() if p.alive and p.pid != me]
    marked = {p.pid for p in table if processes.environment_has(p.pid, cookie)}
    sessions = {p.session for p in table if p.pid in marked}
    found = marked | {p.pid for p in table if p.session in sessions}
    children: dict[int, list[int]] = {}
    for p in table:
        children.setdefault(p.ppid, []).append(p.pid)
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found
