"""The agent's oldest Python (3.8), as a bare machine has it: no PYTHONPATH, no site-packages of
ours, a home of its own."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


def bare_env(home: Path) -> dict[str, str]:
    """What a fresh machine's shell might give: a PATH and a HOME, nothing Python-specific."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home)}


def find_python(version: str, home: Path) -> str | None:
    """A Python `version` ("3.8") that really runs (a pyenv shim may exist without a version
    behind it)."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [
        shutil.which(f"python{version}"),
        *sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}")),
    ]
    wanted = tuple(int(part) for part in version.split("."))
    probe = f"import sys; print(sys.version_info[:2] == {wanted})"
    for python in filter(None, candidates):
        try:
            done = subprocess.run(
                [python, "-I", "-c", probe], env=bare_env(home), capture_output=True, timeout=30
            )
        except OSError:
            continue
        if done.stdout.strip() == b"True":
            return python
    return None


@dataclass
class Machine:
    """A host with Python 3.8 and nothing else of ours: an empty working directory and home."""

    python: str
    home: Path

    def agentd(self, pyz: Path, *args: str) -> list[str]:
        return [self.python, "-I", str(pyz), *args]

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """`python3.8 -I ARGV` in the empty home."""
        return subprocess.run(
            [self.python, "-I", *argv],
            cwd=self.home,
            env=bare_env(self.home),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
