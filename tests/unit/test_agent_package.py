"""The one-file agent's archive: deterministic, complete, and nothing but the agent's code."""

from __future__ import annotations

import ast
import io
import re
import sys
import zipfile
from pathlib import Path, PurePosixPath

from assistcli.controller import agent_package

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("agentd", "assistcli")
STDLIB = sys.stdlib_module_names


def archive() -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(agent_package.build()))


def module_files(names: list[str]) -> dict[str, str]:
    """Importable module name -> its file in the archive (`a/b/__init__.py` -> `a.b`)."""
    found = {}
    for name in names:
        parts = PurePosixPath(name).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = name
    return found


def top_level_names(source: bytes) -> set[str]:
    """What a module defines at its top level (assignments, functions, classes, imports)."""
    found = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found.update((a.asname or a.name).split(".")[0] for a in node.names)
    return found


def unresolved(zipped: zipfile.ZipFile) -> list[str]:
    """First-party imports the archive cannot satisfy, and third-party imports, anywhere in
    its modules (at their top or inside a function): `FILE imports NAME`."""
    modules = module_files(zipped.namelist())
    missing = []
    for file in zipped.namelist():
        for node in ast.walk(ast.parse(zipped.read(file))):
            wanted: list[str] = []
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0 and node.module, f"{file}: relative import"
                wanted = [node.module]
                package = modules.get(node.module, "")
                if package.endswith("__init__.py"):  # each name: a submodule, or defined there
                    defined = top_level_names(zipped.read(package))
                    wanted += [
                        f"{node.module}.{alias.name}"
                        for alias in node.names
                        if alias.name not in defined
                    ]
            for name in wanted:
                top = name.split(".")[0]
                known = name in modules if top in FIRST_PARTY else top in STDLIB
                if not known:
                    missing.append(f"{file} imports {name}")
    return missing


def test_two_builds_are_byte_identical() -> None:
    assert agent_package.build() == agent_package.build()


def test_the_archive_holds_the_agent_and_only_the_modules_it_needs() -> None:
    names = archive().namelist()
    agentd_files = {f"agentd/{path.name}" for path in (ROOT / "agentd").glob("*.py")}
    assert set(names) == {
        "__main__.py",
        *agentd_files,
        "assistcli/__init__.py",
        "assistcli/api/__init__.py",
        "assistcli/api/agent.py",
        "assistcli/api/status.py",
        "assistcli/api/wire.py",
    }
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_every_import_resolves_in_the_archive_or_the_standard_library() -> None:
    """What a test run happens not to reach (a lazy import, say) is checked here, statically."""
    assert unresolved(archive()) == []


def test_the_import_check_finds_a_missing_module() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("agentd/__init__.py", "VERSION = 1\n")
        zipped.writestr("agentd/cli.py", "import yaml\nfrom agentd import VERSION, gone\n")
    assert unresolved(zipfile.ZipFile(buffer)) == [
        "agentd/cli.py imports yaml",
        "agentd/cli.py imports agentd.gone",
    ]


def test_entries_have_fixed_dates_and_modes_and_a_shebang() -> None:
    data = agent_package.build()
    assert data.startswith(b"#!/usr/bin/env python3\n")
    for info in zipfile.ZipFile(io.BytesIO(data)).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.compress_type == zipfile.ZIP_DEFLATED
    main = zipfile.ZipFile(io.BytesIO(data)).read("__main__.py").decode()
    assert "from agentd.cli import main" in main


def test_the_makefile_checks_the_sources_the_agent_is_built_from() -> None:
    """vermin checks AGENT_SOURCES for Python 3.8: it must be what the archive holds."""
    found = re.search(r"^AGENT_SOURCES\s*:=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, "the Makefile sets no AGENT_SOURCES"
    assert tuple(found[1].split()) == agent_package.SOURCES


def test_write_makes_an_executable_file(tmp_path: Path) -> None:
    target = tmp_path / "dist" / "agentd.pyz"
    built = agent_package.write(target)
    assert target.read_bytes() == built.data == agent_package.build()
    assert target.stat().st_mode & 0o777 == 0o755
    assert [path.name for path in target.parent.iterdir()] == ["agentd.pyz"]
