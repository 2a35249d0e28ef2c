"""Profiles in aliyun's config.json format, and the precedence of flags, profile, environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistcli.config import (
    DEFAULT_ENDPOINT,
    ENDPOINT_FILE,
    LOCAL_KEY_FILE,
    ConfigError,
    ConfigFile,
    Overrides,
    Profile,
    Settings,
    config_dir,
    resolve,
)

ALIYUN_FILE = """{
\t"current": "work",
\t"profiles": [
\t\t{
\t\t\t"name": "work",
\t\t\t"mode": "AK",
\t\t\t"access_key_id": "LTAIfile",
\t\t\t"access_key_secret": "file-secret",
\t\t\t"region_id": "cn-beijing",
\t\t\t"output_format": "json",
\t\t\t"language": "en",
\t\t\t"site": "china",
\t\t\t"retry_timeout": 7
\t\t},
\t\t{
\t\t\t"name": "other",
\t\t\t"mode": "AK",
\t\t\t"access_key_id": "LTAIother",
\t\t\t"access_key_secret": "other-secret",
\t\t\t"region_id": "cn-shanghai",
\t\t\t"endpoint": "10.0.0.1:8742"
\t\t}
\t],
\t"meta_path": ""
}"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(ALIYUN_FILE)
    return path


def settle(
    overrides: Overrides | None = None,
    env: dict[str, str] | None = None,
    data_dir: Path = Path("/nonexistent"),
    keyring: dict[str, str] | None = None,
) -> Settings:
    return resolve(
        overrides or Overrides(),
        env=env or {},
        data_dir=data_dir,
        secret_lookup=(keyring or {}).get,
    )


def test_an_aliyun_file_round_trips_with_unknown_keys_kept(config_file: Path) -> None:
    config = ConfigFile.load(config_file)
    work = config.get("work")
    assert work is not None and work.read_timeout == 7 and work.extra == {"site": "china"}
    config.save()
    saved = json.loads(config_file.read_text())
    assert saved["profiles"][0]["site"] == "china"
    assert saved["profiles"][0]["read_timeout"] == 7
    assert oct(config_file.stat().st_mode & 0o777) == "0o600"
    assert config_file.read_text().startswith('{\n\t"current": "work"')


def test_a_new_file_is_written_like_aliyun_writes_it(tmp_path: Path) -> None:
    config = ConfigFile(path=tmp_path / "sub" / "config.json")
    config.put(Profile(name="default", access_key_id="id", access_key_secret="s", region_id="r"))
    config.save()
    text = (tmp_path / "sub" / "config.json").read_text()
    assert json.loads(text) == {
        "current": "default",
        "profiles": [
            {
                "name": "default",
                "mode": "AK",
                "access_key_id": "id",
                "access_key_secret": "s",
                "region_id": "r",
                "output_format": "json",
                "language": "en",
            }
        ],
        "meta_path": "",
    }
    assert not text.endswith("\n")
    assert oct((tmp_path / "sub").stat().st_mode & 0o777) == "0o700"


def test_removing_the_current_profile_moves_current(config_file: Path) -> None:
    config = ConfigFile.load(config_file)
    config.remove("work")
    assert config.current == "other"


def test_the_current_profile_is_used(config_file: Path) -> None:
    got = settle(Overrides(config_path=config_file))
    assert (got.access_key_id, got.access_key_secret, got.region_id) == (
        "LTAIfile",
        "file-secret",
        "cn-beijing",
    )
    assert got.read_timeout == 7 and got.endpoint == DEFAULT_ENDPOINT
    assert got.source == got.secret_source == "profile 'work'"
    flagged = settle(Overrides(config_path=config_file, access_key_secret="s"))
    assert (flagged.source, flagged.secret_source) == ("profile 'work'", "--access-key-secret")


@pytest.mark.parametrize(
    ("overrides", "env", "expected"),
    [
        # --profile beats $ALIBABA_CLOUD_PROFILE beats `current`
        ({"profile": "other"}, {"ALIBABA_CLOUD_PROFILE": "work"}, ("LTAIother", "cn-shanghai")),
        ({}, {"ALIBABA_CLOUD_PROFILE": "other"}, ("LTAIother", "cn-shanghai")),
        # flags beat the profile
        ({"access_key_id": "LTAIflag", "region_id": "eu-1"}, {}, ("LTAIflag", "eu-1")),
        # the profile beats the environment (aliyun's rule: env fills only what is empty)
        (
            {},
            {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIenv", "ALIBABA_CLOUD_REGION_ID": "us-1"},
            ("LTAIfile", "cn-beijing"),
        ),
    ],
)
def test_precedence(
    config_file: Path, overrides: dict[str, str], env: dict[str, str], expected: tuple[str, str]
) -> None:
    got = settle(Overrides(config_path=config_file, **overrides), env)  # type: ignore[arg-type]
    assert (got.access_key_id, got.region_id) == expected


def test_the_environment_fills_what_no_profile_gives() -> None:
    env = {
        "ALICLOUD_ACCESS_KEY_ID": "LTAIenv",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret",
        "ALIBABACLOUD_REGION_ID": "cn-chengdu",
    }
    got = settle(env=env)
    assert (got.access_key_id, got.access_key_secret, got.region_id) == (
        "LTAIenv",
        "env-secret",
        "cn-chengdu",
    )
    assert got.source == "the environment"
    assert got.secret_source == "$ALIBABA_CLOUD_ACCESS_KEY_SECRET"


def test_ignore_profile_skips_the_file(config_file: Path) -> None:
    env = {
        "ALIBABA_CLOUD_IGNORE_PROFILE": "TRUE",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIenv",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret",
    }
    assert settle(Overrides(config_path=config_file), env).access_key_id == "LTAIenv"


def test_a_secret_missing_from_the_file_comes_from_the_keyring(tmp_path: Path) -> None:
    config = ConfigFile(path=tmp_path / "config.json")
    config.put(Profile(name="default", access_key_id="LTAIkr", region_id="cn-hangzhou"))
    config.save()
    got = settle(Overrides(config_path=config.path), keyring={"LTAIkr": "kept-secret"})
    assert got.access_key_secret == "kept-secret"
    assert got.secret_source == "profile 'default' (in the keyring)"
    with pytest.raises(ConfigError, match=r"no Access Key Secret for Access Key Id \*\*\*Ikr"):
        settle(Overrides(config_path=config.path))


def test_nothing_configured_means_the_local_controller(tmp_path: Path) -> None:
    keys = {"AccessKeyId": "LTAIlocal", "AccessKeySecret": "local-secret"}
    (tmp_path / LOCAL_KEY_FILE).write_text(json.dumps(keys))
    got = settle(data_dir=tmp_path)
    assert (got.endpoint, got.access_key_id, got.region_id) == (
        DEFAULT_ENDPOINT,
        "LTAIlocal",
        "cn-hangzhou",
    )
    (tmp_path / ENDPOINT_FILE).write_text("127.0.0.1:9999\n")
    assert settle(data_dir=tmp_path).endpoint == "127.0.0.1:9999"


def test_nothing_configured_and_no_local_key_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no credentials configured") as caught:
        settle(data_dir=tmp_path)
    assert "assistcli controller start" in caught.value.tip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"profile": "missing"}, "profile 'missing' not found"),
        ({"region_id": "bad region"}, "invalid region"),
    ],
)
def test_configuration_errors(config_file: Path, overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settle(Overrides(config_path=config_file, **overrides))  # type: ignore[arg-type]


def test_a_missing_config_path_and_unsupported_modes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        settle(Overrides(config_path=tmp_path / "none.json"))
    config = ConfigFile(path=tmp_path / "config.json")
    config.put(Profile(name="default", mode="RamRoleArn"))
    config.save()
    with pytest.raises(ConfigError, match="mode RamRoleArn"):
        settle(Overrides(config_path=config.path))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        settle(Overrides(config_path=tmp_path / "bad.json"))


def test_the_config_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("ASSIST_CONFIG_DIR", raising=False)
    assert config_dir() == tmp_path / ".config" / "assist"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "assist"
    monkeypatch.setenv("ASSIST_CONFIG_DIR", str(tmp_path / "explicit"))
    assert config_dir() == tmp_path / "explicit"


def test_settings_never_show_the_secret() -> None:
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIx", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "hush-hush"}
    assert "hush-hush" not in repr(settle(env=env))
