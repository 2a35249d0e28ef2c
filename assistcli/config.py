"""Profiles and credentials: the aliyun CLI's `config.json`, and who wins when several speak.

Precedence, field by field (the aliyun CLI's, where the environment only fills gaps):

1. command-line flags (`--access-key-id`, `--access-key-secret`, `--region`, `--endpoint`, ...);
2. the selected profile (`--profile`, else `$ALIBABA_CLOUD_PROFILE`, else the file's `current`),
   its secret read from the OS keyring when the file does not hold it;
3. environment variables (`ALIBABA_CLOUD_ACCESS_KEY_ID`, `..._SECRET`, `..._REGION_ID`);
4. the embedded default: the local controller and the key `assistcli controller start` keeps in
   the data directory.

The CA bundle differs, as in the AWS CLI: --ca-bundle, then `$ASSIST_CA_BUNDLE`, then the
profile's, then requests' own `$REQUESTS_CA_BUNDLE`, else the default store (`assistcli.trust`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

from assistcli.errors import AssistError
from assistcli.trust import Trust, choose_bundle, unreadable_bundle

CONFIG_FILE = "config.json"
LOCAL_KEY_FILE = "local-key.json"
ENDPOINT_FILE = "controller.endpoint"  # written by `assistcli controller start`
DEFAULT_ENDPOINT = "127.0.0.1:8742"
DEFAULT_REGION = "cn-hangzhou"
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 5.0
SUPPORTED_MODES = ("AK", "")

PROFILE_ENV = ("ALIBABA_CLOUD_PROFILE", "ALIBABACLOUD_PROFILE", "ALICLOUD_PROFILE")
IGNORE_PROFILE_ENV = "ALIBABA_CLOUD_IGNORE_PROFILE"
ENV = {
    "access_key_id": (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABACLOUD_ACCESS_KEY_ID",
        "ALICLOUD_ACCESS_KEY_ID",
    ),
    "access_key_secret": (
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABACLOUD_ACCESS_KEY_SECRET",
        "ALICLOUD_ACCESS_KEY_SECRET",
    ),
    "region_id": ("ALIBABA_CLOUD_REGION_ID", "ALIBABACLOUD_REGION_ID", "ALICLOUD_REGION_ID"),
}
REGION = re.compile(r"^[a-zA-Z0-9-]+$")  # what the aliyun CLI accepts

SecretLookup = Callable[[str], str | None]


class ConfigError(AssistError):
    """No usable profile or credentials."""

    def __init__(self, message: str, *, tip: str = "") -> None:
        super().__init__(message)
        self.tip = tip


def config_dir() -> Path:
    """$ASSIST_CONFIG_DIR, else $XDG_CONFIG_HOME/assist, else ~/.config/assist."""
    if explicit := os.environ.get("ASSIST_CONFIG_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "assist"


def mask(value: str) -> str:
    """`***` and the last three characters, as the aliyun CLI shows keys."""
    return f"***{value[-3:]}" if value else ""


@dataclass(kw_only=True)
class Profile:
    """One entry of `profiles` in config.json; keys this project does not use are kept as-is."""

    name: str
    mode: str = "AK"
    access_key_id: str = ""
    access_key_secret: str = ""
    region_id: str = ""
    endpoint: str = ""
    output_format: str = "json"
    language: str = "en"
    read_timeout: int = 0
    connect_timeout: int = 0
    retry_count: int = 0
    ca_bundle: str = ""  # a PEM file of CAs to trust over HTTPS (not an aliyun CLI key)
    # Why `configure` could not verify the key with the controller ("": verified, or not tried);
    # `configure list` shows the profile Unverified (not an aliyun CLI key either).
    unverified: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {key: data[key] for key in known if key in data}
        if "read_timeout" not in values and "retry_timeout" in data:  # aliyun's legacy key
            values["read_timeout"] = data["retry_timeout"]
        extra = {k: v for k, v in data.items() if k not in known and k != "retry_timeout"}
        return cls(**values, extra=extra)

    def to_json(self) -> dict[str, Any]:
        """aliyun's field order; empty values omitted except `name` and `mode`."""
        data: dict[str, Any] = {"name": self.name, "mode": self.mode}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name not in ("name", "mode", "extra") and value not in ("", 0, None):
                data[item.name] = value
        return data | self.extra


@dataclass(kw_only=True)
class ConfigFile:
    """config.json: `{"current": ..., "profiles": [...], "meta_path": ""}`."""

    path: Path
    current: str = "default"
    profiles: list[Profile] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ConfigFile:
        """The file at `path`, or an empty configuration when there is none."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path=path)
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot read the configuration {path}: {error}") from None
        if not isinstance(data, dict) or not isinstance(data.get("profiles", []), list):
            raise ConfigError(f"{path} is not an aliyun-style config.json")
        profiles = [Profile.from_json(p) for p in data.get("profiles", []) if isinstance(p, dict)]
        extra = {k: v for k, v in data.items() if k not in ("current", "profiles")}
        return cls(
            path=path, current=str(data.get("current") or ""), profiles=profiles, extra=extra
        )

    def get(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def put(self, profile: Profile) -> None:
        """Replace the profile of that name in place, or add it at the end."""
        names = [p.name for p in self.profiles]
        if profile.name in names:
            self.profiles[names.index(profile.name)] = profile
        else:
            self.profiles.append(profile)

    def remove(self, name: str) -> Profile | None:
        found = self.get(name)
        self.profiles = [p for p in self.profiles if p.name != name]
        if found is not None and self.current == name:
            self.current = self.profiles[0].name if self.profiles else "default"
        return found

    def save(self) -> None:
        """Atomically, mode 0600 in a 0700 directory, TAB-indented like the aliyun CLI."""
        data = {"current": self.current, "profiles": [p.to_json() for p in self.profiles]}
        data |= {"meta_path": ""} | self.extra
        text = json.dumps(data, indent="\t", ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, self.path)


class Overrides(NamedTuple):
    """What the command line says; None means "not given"."""

    profile: str | None = None
    config_path: Path | None = None
    access_key_id: str | None = None
    access_key_secret: str | None = None
    region_id: str | None = None
    endpoint: str | None = None
    read_timeout: float | None = None
    connect_timeout: float | None = None
    retry_count: int | None = None
    ca_bundle: str | None = None
    skip_secure_verify: bool = False


class Settings(NamedTuple):
    """Everything needed to sign and send a request."""

    endpoint: str
    access_key_id: str
    access_key_secret: str
    region_id: str
    read_timeout: float
    connect_timeout: float
    retry_count: int
    source: str  # where the key came from, for error messages
    trust: Trust = Trust()
    secret_source: str = ""  # where the secret came from: "profile 'p'", "--access-key-secret"

    def __repr__(self) -> str:
        return "Settings(" + shown(self._asdict()) + ")"


def shown(values: Mapping[str, Any]) -> str:
    """`name=value, ...` with secrets masked: for reprs, which may end up in logs."""
    masked = {k: mask(v) if "secret" in k and v else v for k, v in values.items()}
    return ", ".join(f"{k}={v!r}" for k, v in masked.items())


def config_path(overrides: Overrides) -> Path:
    return overrides.config_path or config_dir() / CONFIG_FILE


def env_value(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    return next((env[n] for n in names if env.get(n)), "")


def load_for(overrides: Overrides) -> ConfigFile:
    """The configuration the command line points at (`--config-path` must exist)."""
    path = config_path(overrides)
    if overrides.config_path is not None and not path.is_file():
        raise ConfigError(f"the configuration file {path} does not exist")
    return ConfigFile.load(path)


def select_profile(overrides: Overrides, env: Mapping[str, str]) -> Profile | None:
    """The profile named by --profile, $ALIBABA_CLOUD_PROFILE or `current`; None if none."""
    if env.get(IGNORE_PROFILE_ENV, "").upper() == "TRUE":
        return None
    config = load_for(overrides)
    wanted = overrides.profile or env_value(env, PROFILE_ENV)
    profile = config.get(wanted or config.current or "default")
    if wanted and profile is None:
        raise ConfigError(
            f"profile '{wanted}' not found in {config.path}",
            tip=f"Create it with `assistcli configure --profile {wanted}`.",
        )
    if profile is not None and profile.mode not in SUPPORTED_MODES:
        raise ConfigError(
            f"profile '{profile.name}' uses mode {profile.mode}; assistcli signs with an "
            "AccessKey pair only (mode AK)",
            tip=f"Run `assistcli configure --profile {profile.name} --mode AK`.",
        )
    return profile


def local_endpoint(data_dir: Path) -> str:
    """Where the local controller listens: what `controller start` recorded, else the default."""
    try:
        return (data_dir / ENDPOINT_FILE).read_text(encoding="utf-8").strip() or DEFAULT_ENDPOINT
    except OSError:
        return DEFAULT_ENDPOINT


def read_local_key(data_dir: Path) -> tuple[str, str] | None:
    """The local controller's key pair (DATA_DIR/local-key.json), if it exists."""
    try:
        keys = json.loads((data_dir / LOCAL_KEY_FILE).read_text(encoding="utf-8"))
        return str(keys["AccessKeyId"]), str(keys["AccessKeySecret"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def resolve(
    overrides: Overrides,
    *,
    env: Mapping[str, str],
    data_dir: Path,
    secret_lookup: SecretLookup,
) -> Settings:
    """Endpoint, key pair, region and timeouts for one call, by the precedence above."""
    profile = select_profile(overrides, env)
    key_id, (secret, secret_source), source = _key_pair(
        overrides, profile, env, secret_lookup, data_dir
    )
    region = (
        overrides.region_id
        or (profile.region_id if profile else "")
        or env_value(env, ENV["region_id"])
        or DEFAULT_REGION
    )
    if not REGION.match(region):
        raise ConfigError(f"invalid region {region!r}")
    stored = profile or Profile(name="")
    retries = overrides.retry_count
    return Settings(
        endpoint=overrides.endpoint or stored.endpoint or local_endpoint(data_dir),
        access_key_id=key_id,
        access_key_secret=secret,
        region_id=region,
        read_timeout=float(overrides.read_timeout or stored.read_timeout or DEFAULT_READ_TIMEOUT),
        connect_timeout=float(
            overrides.connect_timeout or stored.connect_timeout or DEFAULT_CONNECT_TIMEOUT
        ),
        retry_count=stored.retry_count if retries is None else retries,
        source=source,
        trust=choose_trust(overrides, profile, env),
        secret_source=secret_source,
    )


def choose_trust(overrides: Overrides, profile: Profile | None, env: Mapping[str, str]) -> Trust:
    """The CA bundle by its precedence; one that is named but unusable is an error."""
    stored = (profile.name, profile.ca_bundle) if profile else ("", "")
    chosen = choose_bundle(
        overrides.ca_bundle, stored, env, skip_verify=overrides.skip_secure_verify
    )
    problem = chosen.bundle and chosen.verify and unreadable_bundle(chosen.bundle)
    if problem:
        raise ConfigError(f"cannot use {chosen.describe()}: {problem}")
    return chosen


def _key_pair(
    overrides: Overrides,
    profile: Profile | None,
    env: Mapping[str, str],
    secret_lookup: SecretLookup,
    data_dir: Path,
) -> tuple[str, tuple[str, str], str]:
    """(key id, (secret, where it came from), where the id came from); the local key when
    nothing names one."""
    key_id, where = _key_id(overrides, profile, env)
    if not key_id:
        return _local_key_pair(data_dir)
    secret = _secret(overrides, profile, key_id, env, secret_lookup)
    if not secret[0]:
        raise ConfigError(
            f"no Access Key Secret for Access Key Id {mask(key_id)} (from {where})",
            tip="Run `assistcli configure` or set ALIBABA_CLOUD_ACCESS_KEY_SECRET.",
        )
    return key_id, secret, where


def _secret(
    overrides: Overrides,
    profile: Profile | None,
    key_id: str,
    env: Mapping[str, str],
    secret_lookup: SecretLookup,
) -> tuple[str, str]:
    """The secret for `key_id` and where it came from ("" when there is none)."""
    if overrides.access_key_secret:
        return overrides.access_key_secret, "--access-key-secret"
    if profile is not None and profile.access_key_secret:
        return profile.access_key_secret, f"profile '{profile.name}'"
    if profile is not None and profile.access_key_id == key_id:
        stored = secret_lookup(key_id)
        if stored:
            return stored, f"profile '{profile.name}' (in the keyring)"
    name = next((n for n in ENV["access_key_secret"] if env.get(n)), "")
    return (env[name], f"${name}") if name else ("", "")


def _key_id(
    overrides: Overrides, profile: Profile | None, env: Mapping[str, str]
) -> tuple[str, str]:
    if overrides.access_key_id:
        return overrides.access_key_id, "--access-key-id"
    if profile is not None and profile.access_key_id:
        return profile.access_key_id, f"profile '{profile.name}'"
    return env_value(env, ENV["access_key_id"]), "the environment"


def _local_key_pair(data_dir: Path) -> tuple[str, tuple[str, str], str]:
    keys = read_local_key(data_dir)
    if keys is None:
        raise ConfigError(
            f"no credentials configured, and no local controller key in {data_dir}",
            tip="Start a local controller with `assistcli controller start`, or run "
            "`assistcli configure` to use another one.",
        )
    where = f"the local controller key ({data_dir / LOCAL_KEY_FILE})"
    return keys[0], (keys[1], where), where
