"""Facts about this host that the agent reports with every poll."""

from __future__ import annotations

import os
import platform
import shutil
import socket
from pathlib import Path

from agentd import __version__
from assistcli.api.agent import HostFacts


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def boot_id() -> str:
    """Changes at every boot. AGENTD_BOOT_ID overrides it, to simulate a reboot in tests."""
    return os.environ.get("AGENTD_BOOT_ID") or _read("/proc/sys/kernel/random/boot_id")


def timezone() -> str:
    """The host's IANA time zone (schedules without a zone run in it); UTC when unknown."""
    if configured := os.environ.get("TZ", "").lstrip(":"):
        return configured
    if named := _read("/etc/timezone"):
        return named
    target = os.path.realpath("/etc/localtime")
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "UTC"


def interpreters() -> list[str]:
    """Script interpreters present: which command types this host can run."""
    found = []
    if os.path.exists("/bin/sh"):
        found.append("sh")
    if shutil.which("pwsh") or shutil.which("powershell"):
        found.append("powershell")
    if os.name == "nt":
        found.append("cmd")
    return found


def facts() -> HostFacts:
    system = platform.system().lower()
    return HostFacts(
        hostname=socket.gethostname(),
        os_type={"darwin": "linux"}.get(system, system),
        os_version=f"{platform.system()} {platform.release()}",
        machine_id=_read("/etc/machine-id"),
        agent_version=__version__,
        boot_id=boot_id(),
        timezone=timezone(),
        interpreters=interpreters(),
    )
