"""Global flags: one table, accepted anywhere on the line, as the aliyun CLI accepts them.

`split_globals` lifts them out of argv before click parses the rest, so `assistcli ecs
DescribeCommands --profile p` and `assistcli --profile p ecs DescribeCommands` are the same call.
The table also feeds `assistcli --help` and the shell completions.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from assistcli.cli.exits import usage

if TYPE_CHECKING:
    from assistcli.config import Overrides

# Their own options are theirs: nothing after these words is lifted.
EXEMPT_COMMANDS = frozenset({"controller", "quickstart"})


class Arity(enum.Enum):
    SWITCH = "switch"  # --quiet
    VALUE = "value"  # --profile NAME
    FIELDS = "fields"  # --waiter expr=... to=...  (every following key=value token)


class GlobalFlag(NamedTuple):
    name: str
    arity: Arity
    help: str
    aliases: tuple[str, ...] = ()
    metavar: str = ""

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


GLOBAL_FLAGS: tuple[GlobalFlag, ...] = (
    GlobalFlag(
        "--profile",
        Arity.VALUE,
        "Profile to use (default: $ALIBABA_CLOUD_PROFILE, else the current one).",
        ("-p",),
        "NAME",
    ),
    GlobalFlag(
        "--region",
        Arity.VALUE,
        "Region ID sent as RegionId (default: the profile's, else cn-hangzhou).",
        metavar="REGION",
    ),
    GlobalFlag(
        "--endpoint",
        Arity.VALUE,
        "Controller address: HOST:PORT or a URL (default: the profile's, else the local "
        "controller).",
        metavar="ADDRESS",
    ),
    GlobalFlag("--access-key-id", Arity.VALUE, "Access Key Id for this call.", metavar="ID"),
    GlobalFlag(
        "--access-key-secret",
        Arity.VALUE,
        "Access Key Secret for this call (others can read the command line: prefer a profile).",
        metavar="SECRET",
    ),
    GlobalFlag(
        "--config-path",
        Arity.VALUE,
        "Read profiles from this config.json (an aliyun CLI one works too).",
        metavar="FILE",
    ),
    GlobalFlag(
        "--output",
        Arity.FIELDS,
        "json (default), yaml, text, table, or an aliyun table: cols=A,B [rows=EXPR] [num=true].",
        ("-o",),
        "FORMAT",
    ),
    GlobalFlag(
        "--cli-query",
        Arity.VALUE,
        "JMESPath expression applied to the response (printed as compact JSON).",
        ("--query", "--filter"),
        "EXPR",
    ),
    GlobalFlag("--quiet", Arity.SWITCH, "Print nothing on success.", ("-q",)),
    GlobalFlag(
        "--dryrun",
        Arity.SWITCH,
        "Print the signed request instead of sending it.",
        ("--cli-dry-run",),
    ),
    GlobalFlag(
        "--pager",
        Arity.FIELDS,
        "Merge every page of a Describe/List call: [path=A.B[]] [PageNumber=..] [PageSize=..] "
        "[TotalCount=..] [NextToken=..] name the response fields.",
        ("--all-pages",),
        "[FIELDS]",
    ),
    GlobalFlag(
        "--waiter",
        Arity.FIELDS,
        "Repeat a Describe/List call until a JMESPath value matches: expr=EXPR to=VALUE "
        "[timeout=180] [interval=5] [fail=A,B].",
        metavar="FIELDS",
    ),
    GlobalFlag(
        "--watch",
        Arity.SWITCH,
        "Follow the invocation made (RunCommand, InvokeCommand, SendFile) or named "
        "(DescribeInvocations --InvokeId): its output, a progress line, a summary; exit 0 only "
        "when every instance succeeded.",
    ),
    GlobalFlag(
        "--ca-bundle",
        Arity.VALUE,
        "Trust the CAs in this PEM file over HTTPS (default: $ASSIST_CA_BUNDLE, else the "
        "profile's, else the default store).",
        metavar="FILE",
    ),
    GlobalFlag(
        "--skip-secure-verify",
        Arity.SWITCH,
        "Do not check the controller's certificate (insecure; warns on stderr).",
    ),
    GlobalFlag(
        "--read-timeout",
        Arity.VALUE,
        "Seconds to wait for an answer (default 10).",
        ("--retry-timeout",),
        "SECONDS",
    ),
    GlobalFlag(
        "--connect-timeout", Arity.VALUE, "Seconds to wait for a connection (default 5).", (), "S"
    ),
    GlobalFlag(
        "--retry-count",
        Arity.VALUE,
        "Retries of a call that failed in transit or was throttled (default 0).",
        metavar="N",
    ),
    GlobalFlag("--force", Arity.SWITCH, "Send parameters the action table does not know."),
    GlobalFlag("--mode", Arity.VALUE, "Credential mode for configure (only AK).", metavar="MODE"),
    GlobalFlag("--language", Arity.VALUE, "Language for configure: en or zh.", metavar="LANG"),
)
BY_SPELLING = {spelling: flag for flag in GLOBAL_FLAGS for spelling in flag.spellings}
LONG_SPELLINGS = tuple(spelling for spelling in BY_SPELLING if spelling.startswith("--"))


def applies_to(command_path: str) -> bool:
    """Whether the global flags are lifted for this command (not for `controller ...`)."""
    words = command_path.split()
    return len(words) < 2 or words[1] not in EXEMPT_COMMANDS


class GlobalOptions(NamedTuple):
    """The global flags of one command line (a NamedTuple: cheap to define at start-up)."""

    profile: str | None = None
    region: str | None = None
    endpoint: str | None = None
    access_key_id: str | None = None
    access_key_secret: str | None = None
    config_path: str | None = None
    output: tuple[str, ...] = ()
    cli_query: str | None = None
    quiet: bool = False
    dryrun: bool = False
    pager: tuple[str, ...] | None = None
    waiter: tuple[str, ...] | None = None
    watch: bool = False
    ca_bundle: str | None = None
    skip_secure_verify: bool = False
    read_timeout: float | None = None
    connect_timeout: float | None = None
    retry_count: int | None = None
    force: bool = False
    mode: str | None = None
    language: str | None = None

    def __repr__(self) -> str:
        from assistcli.config import shown

        return "GlobalOptions(" + shown(self._asdict()) + ")"

    @classmethod
    def build(cls, raw: dict[str, Any]) -> GlobalOptions:
        for name in ("read_timeout", "connect_timeout"):
            if name in raw:
                raw[name] = _number(name, raw[name], float, minimum=0.001)
        if "retry_count" in raw:
            raw["retry_count"] = _number("retry_count", raw["retry_count"], int, minimum=0)
        return cls(**raw)

    def overrides(self) -> Overrides:
        """The config-relevant part, for `assistcli.config.resolve`."""
        from pathlib import Path

        from assistcli.config import Overrides

        return Overrides(
            profile=self.profile,
            config_path=Path(self.config_path).expanduser() if self.config_path else None,
            access_key_id=self.access_key_id,
            access_key_secret=self.access_key_secret,
            region_id=self.region,
            endpoint=self.endpoint,
            read_timeout=self.read_timeout,
            connect_timeout=self.connect_timeout,
            retry_count=self.retry_count,
            ca_bundle=str(Path(self.ca_bundle).expanduser()) if self.ca_bundle else None,
            skip_secure_verify=self.skip_secure_verify,
        )


assert set(GlobalOptions._fields) == {flag.dest for flag in GLOBAL_FLAGS}


def _number(name: str, text: str, kind: type[float] | type[int], *, minimum: float) -> Any:
    flag = "--" + name.replace("_", "-")
    try:
        value = kind(text)
    except ValueError:
        raise usage(f"{flag} expects a number, got {text!r}") from None
    if value < minimum:
        raise usage(f"{flag} must be at least {minimum:g}, got {text!r}")
    return value


def split_globals(argv: Sequence[str]) -> tuple[GlobalOptions, list[str]]:
    """Lift global flags out of `argv`; the rest keeps its order."""
    raw: dict[str, Any] = {}
    rest: list[str] = []
    index, command_seen = 0, False
    while index < len(argv):
        token = argv[index]
        if token == "--" or (not command_seen and token in EXEMPT_COMMANDS):
            rest += argv[index:]
            break
        command_seen = command_seen or not token.startswith("-")
        name, equals, inline = token.partition("=")
        flag = BY_SPELLING.get(name) if token.startswith("-") else None
        if flag is None:
            rest.append(token)
            index += 1
        else:
            index = _take(flag, argv, index, inline if equals else None, raw)
    return GlobalOptions.build(raw), rest


def _take(
    flag: GlobalFlag, argv: Sequence[str], index: int, inline: str | None, raw: dict[str, Any]
) -> int:
    """Store `flag`'s value from argv[index:]; return the index of the next unread token."""
    if flag.arity is Arity.SWITCH:
        raw[flag.dest] = True
        return index + 1
    if flag.arity is Arity.VALUE:
        if inline is not None:
            raw[flag.dest] = inline
            return index + 1
        if index + 1 >= len(argv):
            raise usage(f"{flag.name} needs a value ({flag.metavar})")
        raw[flag.dest] = argv[index + 1]
        return index + 2
    values = [inline] if inline else []
    index += 1
    while index < len(argv) and _is_field(flag, argv[index], first=not values):
        values.append(argv[index])
        index += 1
    raw[flag.dest] = (*raw.get(flag.dest, ()), *values)
    return index


def _is_field(flag: GlobalFlag, token: str, *, first: bool) -> bool:
    if token.startswith("-"):
        return False
    if "=" in token:
        return True
    if flag.name == "--output":
        return first  # a format name, checked by assistcli.output
    return flag.name == "--pager" and first and token.endswith("[]")
