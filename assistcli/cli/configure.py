"""`assistcli configure [list|get|set|switch|delete]`: profiles, as `aliyun configure` keeps them.

The interactive flow asks what `aliyun configure` asks, in the same order (so a script that
pipes four lines into it still works): Access Key Id, Access Key Secret, Default Region Id, and
Default Language. Secrets go to the OS keyring when a secure one exists; otherwise (and always
for a file named by --config-path, which keeps the aliyun CLI's format) into the file, mode 0600,
with a one-line warning.
"""

from __future__ import annotations

import json
import sys

import click

from assistcli.cli import keystore
from assistcli.cli.exits import CliError, ExitCode, usage
from assistcli.cli.globals import GlobalOptions
from assistcli.config import (
    DEFAULT_REGION,
    REGION,
    ConfigError,
    ConfigFile,
    Profile,
    config_path,
    mask,
)
from assistcli.output import tabulate

LANGUAGES = ("en", "zh")
FAILED_BANNER = "\n".join(["-" * 47, "!!! Configure Failed please configure again !!!", "-" * 47])
RETRY = "Run `assistcli configure` again once the controller is up (--endpoint says where)."
GET_KEYS = (
    "profile",
    "mode",
    "access-key-id",
    "access-key-secret",
    "region",
    "language",
    "endpoint",
    "read-timeout",
    "connect-timeout",
    "retry-count",
    "ca-bundle",
)


def _options() -> GlobalOptions:
    return click.get_current_context().find_object(GlobalOptions) or GlobalOptions()


def _load(options: GlobalOptions) -> ConfigFile:
    return ConfigFile.load(config_path(options.overrides()))


def _check_mode(mode: str) -> None:
    if mode.upper() not in ("AK", ""):
        raise usage(
            f"--mode {mode}: assistcli signs with an AccessKey pair only; use --mode AK",
        )


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def configure(ctx: click.Context) -> None:
    """Configure a profile interactively, as `aliyun configure` does, or manage profiles.

    Flags: --profile NAME, --mode AK, --endpoint ADDRESS and --ca-bundle FILE (stored in the
    profile), --config-path FILE (any aliyun-style config.json).
    """
    if ctx.invoked_subcommand is None:
        interactive(_options())


def interactive(options: GlobalOptions) -> None:
    config = _load(options)
    name = options.profile or config.current or "default"
    profile = config.get(name) or Profile(name=name)
    _check_mode(options.mode or profile.mode)
    profile.ca_bundle = _ca_bundle(options.ca_bundle, profile.ca_bundle)  # checked before asking
    click.echo(f"Configuring profile '{name}' in 'AK' authenticate mode...")
    secret = profile.access_key_secret or _keyring_secret(profile)
    profile.access_key_id = _ask("Access Key Id", mask(profile.access_key_id)) or (
        profile.access_key_id
    )
    secret = _ask("Access Key Secret", mask(secret), hide=True) or secret
    region = _ask("Default Region Id", profile.region_id or DEFAULT_REGION)
    profile.region_id = _region(region or profile.region_id or DEFAULT_REGION)
    click.echo("Default Output Format [json]: json (Only support json)")
    language = _ask("Default Language [zh|en]", profile.language or "en", brackets=False)
    profile.language = language if language in LANGUAGES else profile.language or "en"
    profile.mode, profile.endpoint = "AK", options.endpoint or profile.endpoint
    if not profile.access_key_id or not secret:
        raise CliError("an Access Key Id and a Secret are both needed", code=ExitCode.CONFIG)
    profile.unverified = ""
    save(config, profile, secret, explicit_path=options.config_path is not None)
    click.echo(f"Saving profile[{name}] ...Done.")
    failure = _verify(options, name)
    if failure is None:
        click.echo("Configure Done!!!")
        return
    profile.unverified = str(failure)  # kept, as aliyun keeps it, and listed as Unverified
    config.save()
    click.echo(f"{FAILED_BANNER}\n", err=True)
    raise failure


def _ask(label: str, shown: str, *, hide: bool = False, brackets: bool = True) -> str:
    """One answer from stdin; empty keeps the current value."""
    prompt = f"{label} [{shown}]: " if brackets else f"{label} {shown}: "
    if hide and sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt).strip()
    click.echo(prompt, nl=False)
    return sys.stdin.readline().strip()


def _region(region: str) -> str:
    if not REGION.match(region):
        raise usage(f"invalid region {region!r}")
    return region


def _ca_bundle(given: str | None, current: str) -> str:
    """The bundle to store: the given one as an absolute path, checked now ("" clears it)."""
    if given is None:
        return current
    if not given:
        return ""
    from pathlib import Path

    from assistcli.trust import unreadable_bundle

    path = str(Path(given).expanduser().absolute())
    problem = unreadable_bundle(path)
    if problem:
        raise CliError(f"cannot use the CA bundle {path}: {problem}", code=ExitCode.CONFIG)
    return path


def _keyring_secret(profile: Profile) -> str:
    return (keystore.lookup(profile.access_key_id) or "") if profile.access_key_id else ""


def save(config: ConfigFile, profile: Profile, secret: str, *, explicit_path: bool) -> None:
    """Store the profile (current from now on) and its secret: keyring, else the file."""
    if not explicit_path and keystore.store(profile.access_key_id, secret):
        profile.access_key_secret = ""
    else:
        profile.access_key_secret = secret
        reason = "it keeps the aliyun CLI's format" if explicit_path else "no secure keyring"
        click.echo(
            f"WARNING: the Access Key Secret is stored in plain text in {config.path} "
            f"(mode 0600): {reason}.",
            err=True,
        )
    config.put(profile)
    config.current = profile.name
    config.save()


def _verify(options: GlobalOptions, name: str) -> CliError | None:
    """One cheap signed call with the new profile, as `aliyun configure` checks its keys; the
    error that says why it failed (exit status 4 for a key the controller refuses, 5 for no
    controller), or None."""
    from assistcli.cli import session
    from assistcli.cli.hints import explain
    from assistcli.client import ServerError, TransportError

    checked = options._replace(profile=name, read_timeout=5.0, connect_timeout=2.0, retry_count=0)
    saved = f"profile '{name}' is saved, but its key could not be verified"
    try:
        resolved = session.settings(checked)
        session.client_for(resolved).call("DescribeCommands", {"PageSize": 1})
    except ServerError as refused:
        why = f"the controller at {resolved.endpoint} answered {refused.code}"
        tip = explain(refused, {}, resolved) or refused.message
        return CliError(f"{saved}: {why}", code=ExitCode.CONFIG, tip=tip)
    except TransportError as unreachable:
        return CliError(f"{saved}: {unreachable}", code=ExitCode.UNREACHABLE, tip=RETRY)
    except ConfigError as error:
        return CliError(f"{saved}: {error}", code=ExitCode.CONFIG, tip=error.tip)
    return None


@configure.command("list")
def list_profiles() -> None:
    """List profiles: name (* = current), credential, validity, region, language, endpoint,
    and the CA bundle when a profile has one."""
    config = _load(_options())
    rows = [
        [
            profile.name + (" *" if profile.name == config.current else ""),
            f"{profile.mode or 'AK'}:{mask(profile.access_key_id)}",
            _validity(profile),
            profile.region_id,
            profile.language,
            profile.endpoint,
            profile.ca_bundle,
        ]
        for profile in config.profiles
    ]
    header = ["Profile", "Credential", "Valid", "Region", "Language", "Endpoint", "CA Bundle"]
    if not any(profile.ca_bundle for profile in config.profiles):  # aliyun's columns, as they are
        header, rows = header[:-1], [row[:-1] for row in rows]
    click.echo(tabulate(header, rows))


def _validity(profile: Profile) -> str:
    """Valid: complete (as aliyun checks it), and not refused when `configure` last tried."""
    if profile.mode not in ("AK", "") or not profile.access_key_id or not profile.region_id:
        return "Invalid"
    if not (profile.access_key_secret or _keyring_secret(profile)):
        return "Invalid"
    return "Unverified" if profile.unverified else "Valid"


def _selected(options: GlobalOptions, config: ConfigFile) -> Profile:
    name = options.profile or config.current or "default"
    profile = config.get(name)
    if profile is None:
        raise CliError(
            f"profile '{name}' not found in {config.path}",
            code=ExitCode.CONFIG,
            tip=f"Create it with `assistcli configure --profile {name}`.",
        )
    return profile


@configure.command("get")
@click.argument("keys", nargs=-1)
def get(keys: tuple[str, ...]) -> None:
    """Show a profile (secrets masked), or some of its values: get region endpoint ..."""
    profile = _selected(_options(), _load(_options()))
    if not keys:
        data = profile.to_json() | {"access_key_secret": mask(profile.access_key_secret)}
        click.echo(json.dumps({k: v for k, v in data.items() if v != ""}, indent="\t"))
        return
    for key in keys:
        click.echo(_get_value(profile, key))


def _get_value(profile: Profile, key: str) -> str:
    values = {
        "profile": profile.name,
        "mode": profile.mode,
        "access-key-id": mask(profile.access_key_id),
        "access-key-secret": mask(profile.access_key_secret or _keyring_secret(profile)),
        "language": profile.language,
        "endpoint": profile.endpoint,
        "read-timeout": str(profile.read_timeout),
        "connect-timeout": str(profile.connect_timeout),
        "retry-count": str(profile.retry_count),
        "ca-bundle": profile.ca_bundle,
    }
    if key == "region":  # the aliyun CLI prints the bare region
        return profile.region_id
    if key not in values:
        raise usage(f"unknown key {key!r}; known: {', '.join(GET_KEYS)}")
    return f"{key}={values[key]}"


@configure.command("set")
def set_profile() -> None:
    """Create or change a profile from flags, without prompts; it becomes the current one.

    Flags: --profile, --mode AK, --access-key-id, --access-key-secret (`-` reads stdin),
    --region, --endpoint, --language, --read-timeout, --connect-timeout, --retry-count,
    --ca-bundle FILE (a PEM file of CAs to trust over HTTPS; "" removes it).
    """
    options = _options()
    config = _load(options)
    name = options.profile or config.current or "default"
    profile = config.get(name) or Profile(name=name, region_id=DEFAULT_REGION)
    _check_mode(options.mode or profile.mode)
    _apply_flags(profile, options)
    profile.unverified = ""  # set does not verify: what configure could not check may be fixed
    secret = _secret_flag(options) or profile.access_key_secret or _keyring_secret(profile)
    if not profile.access_key_id or not secret:
        raise CliError(
            f"profile '{name}' needs --access-key-id and --access-key-secret",
            code=ExitCode.CONFIG,
        )
    save(config, profile, secret, explicit_path=options.config_path is not None)


def _apply_flags(profile: Profile, options: GlobalOptions) -> None:
    profile.mode = "AK"
    profile.access_key_id = options.access_key_id or profile.access_key_id
    profile.region_id = _region(options.region) if options.region else profile.region_id
    profile.endpoint = options.endpoint if options.endpoint is not None else profile.endpoint
    profile.ca_bundle = _ca_bundle(options.ca_bundle, profile.ca_bundle)
    if options.language:
        profile.language = options.language if options.language in LANGUAGES else "en"
    if options.read_timeout is not None:
        profile.read_timeout = int(options.read_timeout)
    if options.connect_timeout is not None:
        profile.connect_timeout = int(options.connect_timeout)
    if options.retry_count is not None:
        profile.retry_count = options.retry_count


def _secret_flag(options: GlobalOptions) -> str:
    if options.access_key_secret == "-":
        return sys.stdin.readline().strip()
    return options.access_key_secret or ""


def _named(options: GlobalOptions, config: ConfigFile) -> Profile:
    """The profile --profile names (switch and delete insist on the flag)."""
    if not options.profile:
        raise usage("the --profile <profileName> is required")
    return _selected(options, config)


@configure.command()
def switch() -> None:
    """Make --profile NAME the current profile."""
    options = _options()
    config = _load(options)
    profile = _named(options, config)
    config.current = profile.name
    config.save()
    click.echo(f"The default profile is `{profile.name}` now.")


@configure.command()
def delete() -> None:
    """Delete --profile NAME (and its secret in the keyring)."""
    options = _options()
    config = _load(options)
    profile = _named(options, config)
    config.remove(profile.name)
    config.save()
    if not any(p.access_key_id == profile.access_key_id for p in config.profiles):
        keystore.forget(profile.access_key_id)
