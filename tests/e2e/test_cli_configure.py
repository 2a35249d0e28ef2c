"""`assistcli configure`: prompts on stdin, profiles in a temporary home, secrets in the keyring."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import Controller, free_port
from keyring.backend import KeyringBackend
from test_cli_support import Cli, profile_for

from assistcli.cli import keystore
from assistcli.config import ConfigFile

pytest_plugins = ["test_cli_support"]  # the cli and cli_on fixtures


class MemoryKeyring(KeyringBackend):
    """A secure-looking keyring that lives in memory (PYTHON_KEYRING_BACKEND selects it)."""

    priority = 1  # type: ignore[assignment]
    secrets: ClassVar[dict[tuple[str, str], str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], str]:
    MemoryKeyring.secrets.clear()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{__name__}.MemoryKeyring")
    return MemoryKeyring.secrets


def answers(*lines: str) -> str:
    return "".join(f"{line}\n" for line in lines)


def configure(cli: Cli, controller: Controller, *flags: str, secret: str | None = None) -> str:
    """`configure` answering its four prompts; returns stdout."""
    stdin = answers(controller.access_key_id, secret or controller.access_key_secret, "", "en")
    result = cli("configure", "--endpoint", controller.endpoint, *flags, input=stdin)
    assert result.exit_code == 0, result.stderr
    assert controller.access_key_secret not in result.stdout + result.stderr
    return result.stdout + result.stderr


def test_configure_asks_like_aliyun_and_verifies(cli: Cli, controller: Controller) -> None:
    shown = configure(cli, controller)
    assert shown.startswith(
        "Configuring profile 'default' in 'AK' authenticate mode...\n"
        "Access Key Id []: Access Key Secret []: Default Region Id [cn-hangzhou]: "
        "Default Output Format [json]: json (Only support json)\n"
        "Default Language [zh|en] en: Saving profile[default] ...Done.\n"
        "Configure Done!!!\n"
    )
    assert cli.json("ecs", "DescribeCommands", "--PageSize", "1")["PageSize"] == 1


def test_without_a_keyring_the_secret_is_in_a_0600_file_with_a_warning(
    cli: Cli, controller: Controller
) -> None:
    shown = configure(cli, controller)
    assert "WARNING: the Access Key Secret is stored in plain text" in shown
    saved = json.loads(cli.config_file.read_text())["profiles"][0]
    assert saved["access_key_secret"] == controller.access_key_secret
    assert saved["endpoint"] == controller.endpoint
    assert oct(cli.config_file.stat().st_mode & 0o777) == "0o600"


def test_with_a_keyring_the_secret_stays_out_of_the_file(
    cli: Cli, controller: Controller, memory_keyring: dict[tuple[str, str], str]
) -> None:
    shown = configure(cli, controller)
    assert "WARNING" not in shown
    assert "access_key_secret" not in json.loads(cli.config_file.read_text())["profiles"][0]
    assert memory_keyring == {("assist", controller.access_key_id): controller.access_key_secret}
    assert cli.json("ecs", "DescribeCommands", "--PageSize", "1")["PageSize"] == 1


def test_a_second_run_shows_masked_values_and_keeps_them(cli: Cli, controller: Controller) -> None:
    configure(cli, controller, "--profile", "p")
    result = cli("configure", "--profile", "p", input=answers("", "", "cn-beijing", ""))
    assert result.exit_code == 0, result.stderr
    masked_id, masked_secret = controller.access_key_id[-3:], controller.access_key_secret[-3:]
    assert f"Access Key Id [***{masked_id}]: Access Key Secret [***{masked_secret}]: " in (
        result.stdout
    )
    profile = ConfigFile.load(cli.config_file).get("p")
    assert profile is not None
    assert (profile.access_key_id, profile.region_id) == (controller.access_key_id, "cn-beijing")


def validity(cli: Cli, profile: str = "default") -> str:
    rows = [line.split("|") for line in cli.ok("configure", "list").stdout.splitlines()[2:]]
    return next(row[2].strip() for row in rows if row[0].strip(" *") == profile)


def test_a_key_the_controller_refuses_fails_and_is_listed_unverified(
    cli: Cli, controller: Controller
) -> None:
    stdin = answers(controller.access_key_id, "not-the-secret", "", "en")
    result = cli("configure", "--endpoint", controller.endpoint, input=stdin)
    assert result.exit_code == 4, result.stderr
    assert "!!! Configure Failed please configure again !!!" in result.stderr
    assert (
        "ERROR: profile 'default' is saved, but its key could not be verified: the controller "
        f"at {controller.endpoint} answered SignatureDoesNotMatch\n"
        "The Access Key Secret of profile 'default' is wrong for Access Key Id ***"
    ) in result.stderr
    assert "Configure Done" not in result.stdout
    assert validity(cli) == "Unverified"
    configure(cli, controller)  # the right secret: verified, and the mark goes
    assert validity(cli) == "Valid"


def test_no_controller_to_verify_with_fails_and_is_listed_unverified(cli: Cli) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    stdin = answers("LTAIkey", "secret", "", "en")
    result = cli("configure", "--profile", "away", "--endpoint", endpoint, input=stdin)
    assert result.exit_code == 5, result.stderr
    assert "could not be verified: cannot reach the controller at http://" in result.stderr
    assert "Run `assistcli configure` again once the controller is up" in result.stderr
    assert validity(cli, "away") == "Unverified"
    set_again = ["configure", "set", "--profile", "away", "--access-key-secret", "other"]
    cli.ok(*set_again)  # set verifies nothing, and forgets what configure could not check
    assert validity(cli, "away") == "Valid"


def test_set_get_list_switch_delete(cli_on: Cli) -> None:
    flags = "--profile b --access-key-id LTAIbbb --region cn-shanghai --endpoint 10.0.0.2:8742"
    cli_on.ok("configure", "set", *flags.split(), "--access-key-secret", "b-secret")
    assert cli_on.ok("configure", "get", "--profile", "b", "region").stdout == "cn-shanghai\n"
    got = cli_on.ok("configure", "get", "-p", "b", "access-key-secret", "endpoint").stdout
    assert got == "access-key-secret=***ret\nendpoint=10.0.0.2:8742\n"
    whole = json.loads(cli_on.ok("configure", "get", "--profile", "b").stdout)
    assert whole["access_key_secret"] == "***ret"
    listed = cli_on.ok("configure", "list").stdout.splitlines()
    cells = [[cell.strip() for cell in line.split("|")] for line in listed]
    assert cells[0] == ["Profile", "Credential", "Valid", "Region", "Language", "Endpoint"]
    assert cells[3] == ["b *", "AK:***bbb", "Valid", "cn-shanghai", "en", "10.0.0.2:8742"]
    assert cli_on.ok("configure", "switch", "--profile", "default").stdout == (
        "The default profile is `default` now.\n"
    )
    cli_on.ok("configure", "delete", "--profile", "b")
    assert ConfigFile.load(cli_on.config_file).get("b") is None
    assert cli_on("configure", "delete", "--profile", "b").exit_code == 4
    assert cli_on("configure", "switch").exit_code == 2
    assert cli_on("configure", "set", "--mode", "RamRoleArn").exit_code == 2


def test_an_aliyun_config_file_works_and_keeps_its_format(
    cli: Cli, controller: Controller, tmp_path: Path
) -> None:
    profile = profile_for(controller, "work").to_json() | {"site": "china", "retry_timeout": 9}
    aliyun_file = tmp_path / "aliyun" / "config.json"
    aliyun_file.parent.mkdir()
    aliyun_file.write_text(json.dumps({"current": "work", "profiles": [profile]}, indent="\t"))
    found = cli.json(
        "ecs", "DescribeCommands", "--PageSize", "1", "--config-path", str(aliyun_file)
    )
    assert found["PageSize"] == 1
    cli.ok("configure", "set", "--config-path", str(aliyun_file), "--region", "cn-qingdao")
    saved = json.loads(aliyun_file.read_text())["profiles"][0]
    assert saved["site"] == "china" and saved["region_id"] == "cn-qingdao"
    assert saved["access_key_secret"] == controller.access_key_secret  # aliyun can still read it


def test_environment_variables(
    cli: Cli, controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", controller.access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", controller.access_key_secret)
    monkeypatch.setenv("ALIBABA_CLOUD_REGION_ID", "cn-beijing")
    shown = cli.ok("ecs", "DescribeCommands", "--endpoint", controller.endpoint, "--dryrun").stdout
    assert "RegionId=cn-beijing" in shown
    cli.ok("ecs", "DescribeCommands", "--endpoint", controller.endpoint)
    # A profile beats the environment; $ALIBABA_CLOUD_PROFILE picks the profile.
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong")
    cli.save_profile(profile_for(controller, "picked"), current=False)
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "picked")
    cli.ok("ecs", "DescribeCommands")


UNLOCKED = threading.Event()  # the prompt HangingKeyring waits on, answered when a test ends


class HangingKeyring(MemoryKeyring):
    """A keyring stuck on an unlock prompt."""

    def get_password(self, service: str, username: str) -> str | None:
        UNLOCKED.wait(60)
        return None


@pytest.fixture
def unlocked_at_the_end() -> Iterator[None]:
    UNLOCKED.clear()
    yield
    UNLOCKED.set()  # the abandoned lookup's thread ends


@pytest.mark.usefixtures("unlocked_at_the_end")
def test_a_hanging_or_failing_keyring_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keystore, "TIMEOUT", 0.1)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{__name__}.HangingKeyring")
    started = time.monotonic()
    assert keystore.lookup("LTAIx") is None
    assert time.monotonic() - started < 2
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    assert not keystore.store("LTAIx", "secret")
    assert keystore.lookup("LTAIx") is None
