"""The one-file agent: agentd and the standard-library-only code it imports, as a zipapp that
runs on a machine with Python 3.8 or newer and nothing else.

`make agent` writes it to dist/agentd.pyz; the controller serves the same bytes to new machines.
The build is deterministic (sorted entries, fixed dates and modes), so a checksum published once
holds for every controller running the same code.

Usage: python -m assistcli.controller.agent_package OUTPUT
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# What the agent is built from, relative to the project's root: a package directory stands for
# every module in it. The Makefile's AGENT_SOURCES (checked by vermin for Python 3.8) must match;
# a unit test holds them together.
SOURCES = (
    "agentd",
    "assistcli/__init__.py",
    "assistcli/api/agent.py",
    "assistcli/api/status.py",
    "assistcli/api/wire.py",
)

FILENAME = "agentd.pyz"
SHEBANG = b"#!/usr/bin/env python3\n"
# Checks the Python before importing agentd, whose modules older ones cannot even compile: an
# old distribution's python3 gets a sentence, not a SyntaxError.
MAIN = b"""import sys

if sys.version_info < (3, 8):
    sys.exit("agentd needs Python 3.8 or newer; this is Python %d.%d" % sys.version_info[:2])

from agentd.cli import main

main()
"""
DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can record
MODE = 0o100644  # a regular file, read-only for all but its owner
UNIX = 3  # ZipInfo.create_system: the mode above is a Unix one


@dataclass(frozen=True)
class Package:
    data: bytes
    sha256: str  # hex, for installers to check what they downloaded

    @classmethod
    def of(cls, data: bytes) -> Package:
        return cls(data, hashlib.sha256(data).hexdigest())


def package_dir(name: str) -> Path:
    """Where an installed top-level package lives (a checkout, or site-packages)."""
    module = importlib.import_module(name)
    assert module.__file__, f"{name} is not a regular package"
    return Path(module.__file__).parent


def entries() -> dict[str, bytes]:
    """Archive name -> content, `__main__.py` and the packages' `__init__.py` files included."""
    files: dict[str, bytes] = {"__main__.py": MAIN}
    for source in SOURCES:
        top, *rest = PurePosixPath(source).parts
        root = package_dir(top)
        path = root.joinpath(*rest)
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            files[PurePosixPath(top, *file.relative_to(root).parts).as_posix()] = file.read_bytes()
    # A directory without __init__.py is a namespace package, which zipimport on 3.8 cannot load.
    for entry in list(files):
        for parent in PurePosixPath(entry).parents[:-1]:
            files.setdefault(f"{parent}/__init__.py", b"")
    return files


def build() -> bytes:
    """The zipapp's bytes: the shebang line, then the zip (offsets count from the file's start)."""
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in sorted(entries().items()):
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = UNIX
            info.external_attr = MODE << 16
            archive.writestr(info, content)
    return buffer.getvalue()


@functools.cache
def package() -> Package:
    """Built once per process: the sources do not change while it runs."""
    return Package.of(build())


def write(path: Path) -> Package:
    """Write the agent to `path`, executable, replacing what was there at once."""
    built = Package.of(build())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(built.data)
    partial.chmod(0o755)
    os.replace(partial, path)
    return built


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else f"dist/{FILENAME}")
    print(f"{target}  sha256:{write(target).sha256}")  # noqa: T201 - a build tool's report
