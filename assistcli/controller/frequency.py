"""Alibaba Cloud Assistant ``Frequency`` strings as triggers (pure, no I/O, no clock).

Grammar (reference §4.3)::

    frequency := rate | at | cron
    rate      := "rate(" N UNIT ")"                  N >= 1, UNIT one of s m h d
    at        := "at(" YYYY-MM-DD " " HH:MM:SS [" " tz] ")"
    cron      := sec min hour day month week [year] [tz]
    tz        := IANA name | "UTC" | "GMT" | "GMT" ("+"|"-") H[H] ":" MM

* ``rate`` fires at ``anchor + k * interval`` for k >= 1 (never at the anchor itself).
* ``at`` fires once; its wall time is read in ``tz``, UTC when omitted.
* ``cron`` is Quartz-shaped, evaluated by croniter on the wall clock of ``tz`` (the
  instance's zone, ``default_timezone``, when omitted). Fields accept ``*`` ``?`` ``/``
  ``-`` ``,`` and JAN-DEC / SUN-SAT; day-of-month also ``L`` and ``nW``; day-of-week
  ``n#k`` and ``nL`` (last n-day of the month). Day-of-week counts like crontab, not
  Quartz: 0 or 7 = Sunday, 1 = Monday ... 6 = Saturday. ``?`` equals ``*``; when both
  day fields are restricted a day matching either fires (crontab rule). The year field
  (1970-2099) is recognised by its characters (digits ``*`` ``?`` ``/`` ``-`` ``,``);
  any other last token is the time zone. ``GMT+8:00`` is UTC+8 (unlike IANA's
  ``Etc/GMT+8``, which is UTC-8).
* Daylight saving, like Vixie cron: a cron whose hour field names specific hours fires
  once for a wall time that is skipped (at the first existing minute after the gap,
  e.g. 02:30 -> 03:00) or repeated (at its first occurrence). A cron that runs every
  hour follows the clock instead: it skips the missing hour and runs in both passes of
  the repeated one. ``at`` reads a skipped wall time with the offset in force before
  the gap (02:30 -> 03:30) and a repeated one as its first occurrence.

``validate`` adds the API limits: rate interval 60 s .. 7 days and greater than the
Timeout; cron runs at least ``max(10 s, Timeout)`` apart (checked over the next
``GAP_SAMPLE`` fires) and has a future fire; ``at`` lies after the anchor.
"""

from __future__ import annotations

import abc
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

RATE_MIN = timedelta(seconds=60)
RATE_MAX = timedelta(days=7)
RATE_PARSE_MAX = timedelta(days=1000)  # the agent's own ceiling; beyond it rate() is unparsable
CRON_MIN_GAP = 10  # seconds
GAP_SAMPLE = 32  # fires inspected for the cron minimum-interval rule

CRON_USAGE = "cron needs 6 or 7 fields: second minute hour day month week [year] [tz]"
_FIELDS = ("second", "minute", "hour", "day-of-month", "month", "day-of-week", "year")
_HINTS = (
    "0-59",
    "0-59",
    "0-23",
    "1-31, ?, L or nW",
    "1-12 or JAN-DEC",
    "0-7 or SUN-SAT (0 and 7 = Sunday), ?, n#k or nL",
    "1970-2099",
)
_RATE_RE = re.compile(r"rate\(\s*(\d+)\s*([smhd])\s*\)", re.IGNORECASE)
_RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AT_RE = re.compile(
    r"at\(\s*(\d{4}-\d{2}-\d{2})\s+(\d{2}:\d{2}:\d{2})(?:\s+(\S+))?\s*\)", re.IGNORECASE
)
_GMT_RE = re.compile(r"GMT([+-])(\d{1,2}):([0-5]\d)")
_YEAR_RE = re.compile(r"[0-9*?/,\-]+")
# Numbers, three-letter names, L, W and operators; keeps croniter's H/R hash syntax out.
_FIELD_RE = re.compile(r"(?:\d+|[a-z]{3}|[lw*?/,#\-])+", re.IGNORECASE)


class FrequencyError(ValueError):
    """A Frequency that cannot be used; ``str(error)`` is the InvalidParam.Frequency message."""


def parse_timezone(name: str) -> tzinfo:
    """``UTC``/``GMT``, ``GMT+8:00``-style fixed offsets, or any IANA name."""
    if name in ("UTC", "GMT"):
        return UTC
    match = _GMT_RE.fullmatch(name)
    if match:
        sign, hours, minutes = match.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        if offset > timedelta(hours=14 if sign == "+" else 12):
            raise FrequencyError(f"time zone {name!r} is outside GMT-12:00 .. GMT+14:00")
        return timezone(-offset if sign == "-" else offset, name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FrequencyError(
            f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai, UTC, or GMT+8:00)"
        ) from None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware (UTC) datetime")
    return moment.astimezone(UTC)


def _show(moment: datetime) -> str:
    return f"{_utc(moment):%Y-%m-%d %H:%M:%S} UTC"


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g} s"


class Trigger(abc.ABC):
    """When a Period task runs. All datetimes are aware; results are in UTC."""

    __slots__ = ()

    @abc.abstractmethod
    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire strictly after ``after``, or None when it never fires again."""

    def fires_between(self, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
        """Fires in ``(start, end]``, oldest first, at most ``limit`` of them."""
        fires: list[datetime] = []
        fire = self.next_fire(start)
        while fire is not None and fire <= end and len(fires) < limit:
            fires.append(fire)
            fire = self.next_fire(fire)
        return fires

    def latest_fire(self, start: datetime, end: datetime) -> datetime | None:
        """The last fire in ``(start, end]``: the one a coalescing scheduler runs after a gap.

        Searches backwards from ``end`` in growing windows, so a long outage costs a
        handful of ``next_fire`` calls rather than one per missed fire.
        """
        window = timedelta(minutes=10)
        while True:
            lower = end - window if end - start > window else start
            last, fire = None, self.next_fire(lower)
            while fire is not None and fire <= end:
                last, fire = fire, self.next_fire(fire)
            if last is not None or lower == start:
                return last
            window *= 4

    @abc.abstractmethod
    def _check(self, anchor: datetime, timeout: int) -> None:
        """Raise FrequencyError when the documented limits reject this trigger."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RateTrigger(Trigger):
    anchor: datetime
    interval: timedelta

    def next_fire(self, after: datetime) -> datetime | None:
        periods = max(0, (_utc(after) - self.anchor) // self.interval) + 1
        return self.anchor + periods * self.interval

    def latest_fire(self, start: datetime, end: datetime) -> datetime | None:
        periods = (_utc(end) - self.anchor) // self.interval
        last = self.anchor + periods * self.interval
        return last if periods >= 1 and last > _utc(start) else None

    def _check(self, anchor: datetime, timeout: int) -> None:
        if not RATE_MIN <= self.interval <= RATE_MAX:
            raise FrequencyError(
                f"rate(...) interval must be between 60 s and 7 days, got {_seconds(self.interval)}"
            )
        if self.interval <= timedelta(seconds=timeout):
            raise FrequencyError(
                f"rate(...) interval ({_seconds(self.interval)}) must be greater than "
                f"the Timeout ({timeout} s)"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class AtTrigger(Trigger):
    moment: datetime

    def next_fire(self, after: datetime) -> datetime | None:
        return self.moment if self.moment > _utc(after) else None

    def _check(self, anchor: datetime, timeout: int) -> None:
        if self.moment <= _utc(anchor):
            raise FrequencyError(
                f"at(...) is in the past: {_show(self.moment)} is not after the task "
                f"creation time {_show(anchor)}, so it would never run"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class CronTrigger(Trigger):
    expression: str  # seven croniter fields, seconds first
    tz: tzinfo
    every_hour: bool  # hour field is all hours: follow the clock through DST changes

    def next_fire(self, after: datetime) -> datetime | None:
        times = croniter(self.expression, _utc(after).astimezone(self.tz), second_at_beginning=True)
        try:
            fire: datetime = times.get_next(datetime)
            while not self.every_hour and _repeated_wall_time(fire, self.tz):
                fire = times.get_next(datetime)
        except CroniterBadDateError:
            return None
        return fire.astimezone(UTC)

    def _check(self, anchor: datetime, timeout: int) -> None:
        fires = self.fires_between(anchor, datetime.max.replace(tzinfo=UTC), GAP_SAMPLE)
        if not fires:
            raise FrequencyError(
                f"cron never fires after {_show(anchor)}: its years have passed or its "
                "date never occurs"
            )
        minimum = timedelta(seconds=max(CRON_MIN_GAP, timeout))
        gaps = [(later - earlier, earlier) for earlier, later in pairwise(fires)]
        gap, first = min(gaps, default=(minimum, anchor))
        if gap < minimum:
            raise FrequencyError(
                f"cron fires too often: {_seconds(gap)} between runs at {_show(first)}; "
                f"runs must be at least {_seconds(minimum)} apart (10 s and the Timeout)"
            )


def _repeated_wall_time(moment: datetime, tz: tzinfo) -> bool:
    """True for the second pass through a wall time that a DST fall-back repeats."""
    local = moment.astimezone(tz)
    return local.fold == 1 and local.utcoffset() != local.replace(fold=0).utcoffset()


def parse(frequency: str, *, anchor: datetime, default_timezone: str = "UTC") -> Trigger:
    """The trigger for ``frequency``; ``anchor`` is the task's creation time (rate only)."""
    anchor = _utc(anchor)
    text = frequency.strip()
    if not text:
        raise FrequencyError("Frequency is empty")
    head = text[:4].lower()
    if head.startswith("rate"):
        return _parse_rate(text, anchor)
    if head.startswith("at"):
        return _parse_at(text)
    return _parse_cron(text, parse_timezone(default_timezone))


def validate(
    frequency: str, *, anchor: datetime, timeout: int, default_timezone: str = "UTC"
) -> Trigger:
    """``parse`` plus the documented limits, checked against ``anchor`` and ``timeout``."""
    trigger = parse(frequency, anchor=anchor, default_timezone=default_timezone)
    trigger._check(_utc(anchor), timeout)
    return trigger


def _parse_rate(text: str, anchor: datetime) -> RateTrigger:
    match = _RATE_RE.fullmatch(text)
    if not match:
        raise FrequencyError(f"rate(...) must look like rate(5m) with unit s, m, h or d: {text!r}")
    seconds = int(match[1]) * _RATE_UNITS[match[2].lower()]
    if not 0 < seconds <= RATE_PARSE_MAX.total_seconds():
        raise FrequencyError("rate(...) interval must be between 60 s and 7 days")
    return RateTrigger(anchor=anchor, interval=timedelta(seconds=seconds))


def _parse_at(text: str) -> AtTrigger:
    match = _AT_RE.fullmatch(text)
    if not match:
        raise FrequencyError(
            f"at(...) must look like at(2022-06-06 13:15:30 Asia/Shanghai): {text!r}"
        )
    try:
        wall = datetime.strptime(f"{match[1]} {match[2]}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise FrequencyError(f"at(...) has an impossible date or time: {text!r}") from None
    tz = parse_timezone(match[3]) if match[3] else UTC
    return AtTrigger(moment=wall.replace(tzinfo=tz).astimezone(UTC))


@functools.lru_cache(maxsize=4096)
def _parse_cron(text: str, default_tz: tzinfo) -> CronTrigger:
    """Parsed once per expression and zone: the scheduler asks again at every fire, and checking
    the fields (croniter expands each) costs more than finding the next fire."""
    fields = text.split()
    tz = default_tz
    if len(fields) > 6 and not _YEAR_RE.fullmatch(fields[-1]):
        tz = parse_timezone(fields.pop())
    if len(fields) not in (6, 7):
        raise FrequencyError(f"{CRON_USAGE}; got {len(fields)} in {text!r}")
    fields = [_cron_field(index, field) for index, field in enumerate(fields)]
    expression = " ".join([*fields, "*"][:7])
    expanded = _expand(expression, f"cron {text!r} is invalid")
    return CronTrigger(expression=expression, tz=tz, every_hour=expanded[1] == ["*"])


def _cron_field(index: int, field: str) -> str:
    """Map one Quartz field to croniter's spelling, rejecting it with a field-level message."""
    problem = f"cron {_FIELDS[index]} field {field!r} is invalid (expected {_HINTS[index]})"
    if not _FIELD_RE.fullmatch(field):
        raise FrequencyError(problem)
    if index == 6:
        field = field.replace("?", "*")
    if index == 5:  # Quartz "5L" (last Friday) is croniter's "L5"
        field = re.sub(r"(?<![\w#])(\d)L\b", r"L\1", field, flags=re.IGNORECASE)
    probe = ["*"] * 7
    probe[index] = field
    _expand(" ".join(probe), problem)
    return field


def _expand(expression: str, problem: str) -> list[list[object]]:
    try:
        expanded, _ = croniter.expand(expression, second_at_beginning=True)
    except (ValueError, TypeError) as error:
        raise FrequencyError(problem) from error
    return list(expanded)
