"""`agentd install`: register this machine, install the agent and a systemd unit that runs it,
and start it; `agentd uninstall` undoes it.

Everything lands below ROOT (default `/`; another for an image being built):

  ROOT/var/lib/agentd/                    the state directory (0700)
  ROOT/usr/local/lib/agentd/agentd.pyz    the one-file agent, when running from one
  ROOT/etc/systemd/system/agentd.service  the unit; ExecStart names the paths as seen at run time

It runs as root in directories others may have prepared, so it writes as SendFile does
(agentd.files): each directory is opened from ROOT without following a symbolic link (one in the
way is refused), and each file is written under a fresh name, then renamed over its own.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import zipimport
from pathlib import Path

import agentd
from agentd import files, registration

STATE_DIR = "var/lib/agentd"
PROGRAM_DIR = "usr/local/lib/agentd"
PROGRAM = "agentd.pyz"
UNIT_DIR = "etc/systemd/system"
UNIT = "agentd.service"
NOT_INSTALLED = 11  # exit code: the files could not be written, or the service not started

UNIT_TEXT = """\
# Written by `agentd install`; `agentd uninstall` removes it.
[Unit]
Description=Assist agent
Wants=network-online.target
After=network-online.target

[Service]
ExecStart={exec_start}
Restart=on-failure
RestartSec=5
# 3: the controller refused this instance (deregistered); starting again cannot help.
RestartPreventExitStatus=3
# SIGTERM to agentd alone: it lets running tasks finish and flushes its outbox.
KillMode=mixed
TimeoutStopSec=90
# agentd keeps a cgroup per run below its own: systemd leaves them to it.
Delegate=yes

[Install]
WantedBy=multi-user.target
"""


class InstallError(Exception):
    """The agent cannot be installed as asked; the message says why and what to do."""


def install(args: argparse.Namespace) -> int:
    root = checked_root(args.root)
    archive = running_archive()
    # Checked before registering: a failure later would waste a registration.
    argv = [*command(archive), "run", "--state-dir", f"/{STATE_DIR}"]
    code = ensure_registered(args, make_state_dir(root))
    if code != 0:
        return code
    if archive is not None:
        write(root, PROGRAM_DIR, PROGRAM, archive.read_bytes(), 0o755)
        print(f"wrote {root / PROGRAM_DIR / PROGRAM}")
    unit = UNIT_TEXT.format(exec_start=" ".join(unit_word(word) for word in argv))
    write(root, UNIT_DIR, UNIT, unit.encode(), 0o644)
    print(f"wrote {root / UNIT_DIR / UNIT}")
    if root != Path("/"):
        print(f"to start it at boot: systemctl --root={root} enable {UNIT}")
    elif args.no_start:
        print(f"to start it: systemctl daemon-reload && systemctl enable --now {UNIT}")
    elif not systemd_runs(root):
        print(f"systemd does not run here; to start the agent: {' '.join(argv)}")
    else:
        systemctl("daemon-reload")
        systemctl("enable", UNIT)
        systemctl("restart", UNIT)  # started, or restarted to run what was just installed
        print(f"started {UNIT}")
    return 0


def ensure_registered(args: argparse.Namespace, state_dir: Path) -> int:
    """Register into `state_dir`, unless it holds an identity already (and not --force): an
    install run again keeps the instance it made. Prints the instance id; an exit code."""
    held = registration.registered_as(state_dir)
    if held is not None and not args.force:
        print(held)
        registration.fail(f"{state_dir} is registered already; kept (--force registers again)")
        return 0
    request = registration.Request.from_args(args, force=True)
    return registration.register(request, state_dir)


def uninstall(args: argparse.Namespace) -> int:
    root = checked_root(args.root)
    if systemd_runs(root):
        systemctl("disable", "--now", UNIT, check=False)  # a unit never loaded is fine
    removed = remove(root, UNIT_DIR, UNIT) + remove(root, PROGRAM_DIR, PROGRAM)
    remove_directory(root, PROGRAM_DIR)
    if systemd_runs(root) and removed:
        systemctl("daemon-reload")
    if args.purge:
        removed += purge(root)
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print("agentd is not installed here: nothing to remove")
    return 0


def checked_root(text: str) -> Path:
    root = Path(text)
    if not root.is_absolute():
        raise ValueError(f"--root {text} is relative; give an absolute path")
    if not root.is_dir():
        raise ValueError(f"--root {text} is not a directory")
    return root


def make_state_dir(root: Path) -> Path:
    """ROOT/var/lib/agentd, made 0700 if missing, and made 0700 if it was not."""
    fd = files.open_directory(str(root), STATE_DIR)
    try:
        if os.fstat(fd).st_uid != os.geteuid():
            raise InstallError(f"{root / STATE_DIR} belongs to another user; remove it first")
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return root / STATE_DIR


def command(archive: Path | None) -> list[str]:
    """The command line that runs agentd, as systemd will see it: this Python with the
    one-file agent as installed, or with `-m agentd` where the package is installed."""
    python = sys.executable
    if not python or not os.path.isabs(python):
        raise InstallError("cannot tell which Python runs this (sys.executable is not absolute)")
    if archive is not None:
        return [python, f"/{PROGRAM_DIR}/{PROGRAM}"]
    # Run from a checkout, the service would fail with `No module named agentd`.
    probe = [python, "-c", "import agentd.service"]
    found = subprocess.run(probe, cwd="/", env={"PATH": os.defpath}, capture_output=True)
    if found.returncode != 0:
        raise InstallError(
            f"{python} cannot import agentd outside this directory, so the service could not "
            "start it; install the package, or install from the one-file agent "
            "(python3 agentd.pyz install ...)"
        )
    return [python, "-m", "agentd"]


def running_archive() -> Path | None:
    """The zipapp (agentd.pyz) this agent runs from, or None when it is an installed package."""
    loader = getattr(agentd, "__loader__", None)
    if isinstance(loader, zipimport.zipimporter):
        return Path(os.path.abspath(loader.archive))
    if sys.argv[0].endswith(".pyz"):
        return Path(os.path.abspath(sys.argv[0]))
    return None


def unit_word(word: str) -> str:
    """One word of ExecStart: `%` and `$` escaped, quoted when it holds a blank or a quote."""
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not re.search(r"[\s\"'\\;]", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write(root: Path, folder: str, name: str, content: bytes, mode: int) -> None:
    fd = files.open_directory(str(root), folder)
    try:
        files.replace(fd, name, content, mode)
    finally:
        os.close(fd)


def remove(root: Path, folder: str, name: str) -> list[Path]:
    """Remove ROOT/folder/name (a link there is removed, not followed); what was removed."""
    try:
        fd = files.open_directory(str(root), folder, make=False)
    except FileNotFoundError:
        return []
    try:
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        return []
    finally:
        os.close(fd)
    return [root / folder / name]


def remove_directory(root: Path, folder: str) -> None:
    """Remove ROOT/folder if it is empty (what else is in it is not ours to remove)."""
    parent, name = os.path.split(folder)
    try:
        fd = files.open_directory(str(root), parent, make=False)
    except FileNotFoundError:
        return
    try:
        os.rmdir(name, dir_fd=fd)
    except OSError:  # gone already, not empty, or not a directory
        pass
    finally:
        os.close(fd)


def purge(root: Path) -> list[Path]:
    """Remove the state directory: the identity, and the reports never delivered."""
    parent, name = os.path.split(STATE_DIR)
    try:
        fd = files.open_directory(str(root), parent, make=False)  # no link on the way
    except FileNotFoundError:
        return []
    try:
        if files.is_link(fd, name):
            raise InstallError(f"{root / STATE_DIR} is a symbolic link; not following it")
    finally:
        os.close(fd)
    try:
        shutil.rmtree(root / STATE_DIR)  # by descriptors: links inside are removed, not followed
    except FileNotFoundError:
        return []
    return [root / STATE_DIR]


def systemd_runs(root: Path) -> bool:
    return root == Path("/") and os.path.isdir("/run/systemd/system")


def systemctl(*args: str, check: bool = True) -> None:
    done = subprocess.run(["systemctl", *args], capture_output=True, text=True)
    if done.returncode != 0 and check:
        why = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise InstallError(f"systemctl {' '.join(args)} failed: {why[0]}")
