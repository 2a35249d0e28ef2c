"""Fixtures for the CLI tests (no tests here): a temporary home, and a CLI runner.

Every CLI test points HOME, ASSIST_CONFIG_DIR and ASSIST_DATA_DIR at temporary directories and
forces a keyring backend, so no test reads or writes the real home or the real keyring.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import Controller

from assistcli.cli import main
from assistcli.config import ConfigFile, Profile

FAIL_KEYRING = "keyring.backends.fail.Keyring"


@dataclass
class Cli:
    """`cli("ecs", "DescribeCommands")` runs the real CLI in-process against real sockets."""

    home: Path

    @property
    def config_dir(self) -> Path:
        return self.home / "config"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.json"

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.stderr
        return result

    def json(self, *args: str) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.ok(*args).stdout)
        return data

    def subprocess(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The installed entry point in a child process (for what CliRunner cannot show)."""
        return subprocess.run(
            [sys.executable, "-m", "assistcli", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def save_profile(self, profile: Profile, *, current: bool = True) -> None:
        config = ConfigFile.load(self.config_file)
        config.put(profile)
        if current:
            config.current = profile.name
        config.save()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """A CLI with an empty temporary home: nothing configured."""
    home = Cli(tmp_path / "home")
    for name in list(os.environ):
        if name.startswith(("ALIBABACLOUD_", "ALICLOUD_", "ALIBABA_CLOUD_", "ASSIST_", "XDG_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home.home))
    monkeypatch.setenv("ASSIST_CONFIG_DIR", str(home.config_dir))
    monkeypatch.setenv("ASSIST_DATA_DIR", str(home.data_dir))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL_KEYRING)
    monkeypatch.setenv("NO_COLOR", "1")
    yield home


def profile_for(controller: Controller, name: str = "default") -> Profile:
    return Profile(
        name=name,
        access_key_id=controller.access_key_id,
        access_key_secret=controller.access_key_secret,
        region_id="cn-hangzhou",
        endpoint=controller.endpoint,
    )


@pytest.fixture
def cli_on(cli: Cli, controller: Controller) -> Cli:
    """A CLI whose current profile points at the shared controller."""
    cli.save_profile(profile_for(controller))
    return cli
