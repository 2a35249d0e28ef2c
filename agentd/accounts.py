"""Which user a script runs as. The agent runs as root and drops to the task's Username."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    switch: bool  # the script runs as another user than the agent

    def environment(self) -> dict[str, str]:
        """A login-like environment of the account: no variable of the agent leaks in."""
        env = {
            "HOME": self.home,
            "USER": self.name,
            "LOGNAME": self.name,
            "SHELL": self.shell or "/bin/sh",
            "PATH": DEFAULT_PATH,
        }
        for name in ("LANG", "LC_ALL", "TZ"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def popen_args(self) -> dict[str, Any]:
        if not self.switch:
            return {}
        groups = os.getgrouplist(self.name, self.gid)
        return {"user": self.uid, "group": self.gid, "extra_groups": groups}


def lookup(username: str) -> Account | None:
    """The account to run as: `username`, or the agent's own when empty; None if unknown.

    :raises PermissionError: another user is asked for and the agent is not root."""
    me = pwd.getpwuid(os.geteuid())
    if not username or username == me.pw_name:
        return Account(me.pw_name, me.pw_uid, me.pw_gid, me.pw_dir, me.pw_shell, switch=False)
    try:
        entry = pwd.getpwnam(username)
    except KeyError:
        return None
    if os.geteuid() != 0:
        raise PermissionError(f"agentd runs as {me.pw_name} and cannot run scripts as {username}")
    return Account(
        entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir, entry.pw_shell, switch=True
    )
