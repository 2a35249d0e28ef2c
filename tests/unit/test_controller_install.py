"""`assistcli controller install|uninstall` below a scratch root: the unit, the data directory,
and what systemd itself makes of the unit."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from assistcli.cli import main

UNIT = Path("etc/systemd/system/assist-controller.service")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["controller", *args], catch_exceptions=False)


def installed(root: Path, *args: str) -> str:
    done = run("install", "--root", str(root), *args)
    assert done.exit_code == 0, done.output
    return done.stdout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_install_writes_a_unit_that_serves_the_data_dir(tmp_path: Path) -> None:
    out = installed(tmp_path, "--data-dir", "/srv/assist", "--listen", "127.0.0.1:9000")
    unit = (tmp_path / UNIT).read_text()
    [exec_start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    program, *args = exec_start.removeprefix("ExecStart=").split(" ")
    assert Path(program).is_absolute() and Path(program).name == "assistcli"
    assert args == [
        "controller",
        "serve",
        "--data-dir",
        "/srv/assist",
        "--listen",
        "127.0.0.1:9000",
    ]
    for line in ("Restart=on-failure", "After=network-online.target", "WantedBy=multi-user.target"):
        assert line in unit.splitlines()
    assert mode(tmp_path / UNIT) == 0o644
    assert mode(tmp_path / "srv/assist") == 0o700
    # Not the running system's root: the commands are printed, not run.
    assert f"systemctl --root={tmp_path} enable assist-controller.service" in out
    assert "assistcli controller access-key create --data-dir /srv/assist" in out


def test_install_makes_an_existing_data_dir_private_and_passes_the_store(tmp_path: Path) -> None:
    (tmp_path / "var/lib/assist").mkdir(parents=True, mode=0o755)
    installed(tmp_path, "--store", "sqlite:////srv/db/assist.db")
    assert mode(tmp_path / "var/lib/assist") == 0o700
    unit = (tmp_path / UNIT).read_text()
    assert "serve --data-dir /var/lib/assist --listen 127.0.0.1:8742 " in unit
    assert "--listen 127.0.0.1:8742 --store sqlite:////srv/db/assist.db\n" in unit


def test_a_relative_data_dir_below_another_root_is_refused(tmp_path: Path) -> None:
    done = run("install", "--root", str(tmp_path), "--data-dir", "relative/dir")
    assert done.exit_code == 2
    assert "absolute path" in done.stderr
    assert not (tmp_path / UNIT).exists()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not here")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    installed(tmp_path)
    # Without --root: it checks the file's syntax and that ExecStart is executable, offline
    # (with --root it would want the whole system's units below the root, a full image).
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # It complains on stderr, and exits 0 for what it merely ignores: both must be clean.
    assert (done.returncode, done.stderr) == (0, ""), done.stderr


def test_uninstall_removes_the_unit_and_keeps_the_data(tmp_path: Path) -> None:
    installed(tmp_path)
    done = run("uninstall", "--root", str(tmp_path))
    assert done.exit_code == 0 and "removed" in done.stdout
    assert not (tmp_path / UNIT).exists()
    assert (tmp_path / "var/lib/assist").is_dir()
    again = run("uninstall", "--root", str(tmp_path))
    assert again.exit_code == 0 and "nothing to remove" in again.stdout
