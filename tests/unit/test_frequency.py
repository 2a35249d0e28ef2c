"""Frequency strings (reference §4.3, §7): parsing, next fires, DST and the API limits.

Every case runs against explicit datetimes; nothing reads the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assistcli.controller.frequency import (
    FrequencyError,
    RateTrigger,
    Trigger,
    parse,
    parse_timezone,
    validate,
)

FAR = datetime(2100, 1, 1, tzinfo=UTC)
NY, BERLIN = "America/New_York", "Europe/Berlin"


def utc(text: str) -> datetime:
    """'2022-01-01 02:15:00' -> an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def upcoming(trigger: Trigger, after: datetime, count: int) -> list[str]:
    return [f"{fire:%Y-%m-%d %H:%M:%S}" for fire in trigger.fires_between(after, FAR, count)]


def local_fires(frequency: str, tz: str, after: str, count: int) -> list[str]:
    trigger = parse(frequency, anchor=utc(after), default_timezone=tz)
    zone = parse_timezone(tz)
    return [f.astimezone(zone).isoformat() for f in trigger.fires_between(utc(after), FAR, count)]


# --- seed examples from Alibaba's documentation ------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "after", "fires"),
    [
        (
            "0 */20 * * * *",
            "2022-01-01 00:05:00",
            ["2022-01-01 00:20:00", "2022-01-01 00:40:00", "2022-01-01 01:00:00"],
        ),
        (
            "0 */10 * * * *",
            "2022-01-01 00:00:00",
            ["2022-01-01 00:10:00", "2022-01-01 00:20:00", "2022-01-01 00:30:00"],
        ),
        (
            "0 30 21 * * *",
            "2022-01-01 21:30:00",
            ["2022-01-02 21:30:00", "2022-01-03 21:30:00", "2022-01-04 21:30:00"],
        ),
        (  # 2022-01-01 is a Saturday: 6 = Saturday, 0 = Sunday
            "0 10 1 * * 6,0",
            "2022-01-01 00:00:00",
            ["2022-01-01 01:10:00", "2022-01-02 01:10:00", "2022-01-08 01:10:00"],
        ),
        (
            "0 0,30 18-23 * * *",
            "2022-01-01 23:00:00",
            ["2022-01-01 23:30:00", "2022-01-02 18:00:00", "2022-01-02 18:30:00"],
        ),
        (  # 10:15 in Shanghai is 02:15 UTC
            "0 15 10 ? * * 2022 Asia/Shanghai",
            "2022-12-30 12:00:00",
            ["2022-12-31 02:15:00"],
        ),
        (
            "0 0/30 10-11 * * ? 2022 GMT+8:00",
            "2022-06-01 00:00:00",
            ["2022-06-01 02:00:00", "2022-06-01 02:30:00", "2022-06-01 03:00:00"],
        ),
        (  # every 5 min of 14:00 in October, every other year from 2022
            "0 0/5 14 * 10 ? 2022/2 UTC",
            "2022-10-31 14:50:00",
            ["2022-10-31 14:55:00", "2024-10-01 14:00:00", "2024-10-01 14:05:00"],
        ),
    ],
)
def test_seed_examples(frequency: str, after: str, fires: list[str]) -> None:
    trigger = parse(frequency, anchor=utc("2022-01-01 00:00:00"))
    assert upcoming(trigger, utc(after), 3) == fires


@pytest.mark.parametrize(
    ("frequency", "after"),
    [
        ("0 15 10 ? * * 2022 Asia/Shanghai", "2026-01-01 00:00:00"),
        ("0 0/30 10-11 * * ? 2022 GMT+8:00", "2023-01-01 00:00:00"),
        ("0 0/5 14 * 10 ? 2022/2 UTC", "2098-11-01 00:00:00"),  # 2098 is the last in range
    ],
)
def test_year_field_stops_the_schedule(frequency: str, after: str) -> None:
    trigger = parse(frequency, anchor=utc("2022-01-01 00:00:00"))
    assert trigger.next_fire(utc(after)) is None
    assert trigger.fires_between(utc(after), FAR) == []


# --- cron fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "fires"),
    [  # from Thursday 2026-01-01 00:00 UTC
        ("0 0 0 ? * 0", ["2026-01-04", "2026-01-11"]),  # 0 = Sunday
        ("0 0 0 ? * 7", ["2026-01-04", "2026-01-11"]),  # 7 = Sunday too
        ("0 0 0 ? * SUN", ["2026-01-04", "2026-01-11"]),
        ("0 0 0 ? * 1", ["2026-01-05", "2026-01-12"]),  # 1 = Monday (Quartz: Sunday)
        ("0 0 0 ? * mon-fri", ["2026-01-02", "2026-01-05"]),
        ("0 0 0 ? * 6", ["2026-01-03", "2026-01-10"]),  # 6 = Saturday
        ("0 0 0 1 JAN,mar ?", ["2026-03-01", "2027-01-01"]),
        ("0 0 0 L * ?", ["2026-01-31", "2026-02-28"]),  # last day of month
        ("0 0 0 15W * ?", ["2026-01-15", "2026-02-16"]),  # weekday nearest the 15th
        ("0 0 0 ? * 5L", ["2026-01-30", "2026-02-27"]),  # last Friday (Quartz nL)
        ("0 0 0 ? * FRI#2", ["2026-01-09", "2026-02-13"]),  # second Friday
        ("0 0 0 3 * 5", ["2026-01-02", "2026-01-03"]),  # both day fields: either matches
        ("0 0 0 * * * ?", ["2026-01-02", "2026-01-03"]),  # `?` year = every year
        ("0 0 0 1 1 ? */4", ["2030-01-01", "2034-01-01"]),  # 1970, 1974, ... 2026, 2030
    ],
)
def test_cron_fields(frequency: str, fires: list[str]) -> None:
    trigger = parse(frequency, anchor=utc("2026-01-01 00:00:00"))
    days = [
        f"{fire:%Y-%m-%d}" for fire in trigger.fires_between(utc("2026-01-01 00:00:00"), FAR, 2)
    ]
    assert days == fires


@pytest.mark.parametrize(
    ("frequency", "default_timezone", "first"),
    [
        ("0 0 9 * * *", "UTC", "2026-01-01 09:00:00"),
        ("0 0 9 * * *", "Asia/Shanghai", "2026-01-02 01:00:00"),  # the instance's own zone
        ("0 0 9 * * * UTC", "Asia/Shanghai", "2026-01-01 09:00:00"),  # explicit zone wins
        ("0 0 9 * * * GMT-7:00", "UTC", "2026-01-01 16:00:00"),
        ("0 0 9 * * * GMT+08:00", "UTC", "2026-01-02 01:00:00"),
        ("0 0 9 * * * Etc/GMT+8", "UTC", "2026-01-01 17:00:00"),  # POSIX sign: UTC-8
        ("0 0 9 * * * 2026 GMT+5:45", "UTC", "2026-01-02 03:15:00"),
    ],
)
def test_cron_time_zone(frequency: str, default_timezone: str, first: str) -> None:
    anchor = utc("2026-01-01 06:00:00")
    trigger = parse(frequency, anchor=anchor, default_timezone=default_timezone)
    assert trigger.next_fire(anchor) == utc(first)


# --- daylight saving ------------------------------------------------------------------------
# New York 2026: 03-08 02:00 EST -> 03:00 EDT (02:xx never happens),
#                11-01 02:00 EDT -> 01:00 EST (01:xx happens twice).
# Berlin 2026:   03-29 02:00 CET -> 03:00 CEST, 10-25 03:00 CEST -> 02:00 CET.


@pytest.mark.parametrize(
    ("frequency", "tz", "after", "fires"),
    [
        (  # a skipped fixed time runs once, right after the jump
            "0 30 2 * * *",
            NY,
            "2026-03-07 12:00:00",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        (
            "0 30 2 * * *",
            BERLIN,
            "2026-03-28 12:00:00",
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
        ),
        (  # a cron that runs every hour follows the clock: 02:30 is simply skipped
            "0 30 * * * *",
            NY,
            "2026-03-08 06:00:00",
            ["2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"],
        ),
        (  # a repeated fixed time runs once, at its first occurrence
            "0 30 1 * * *",
            NY,
            "2026-10-31 12:00:00",
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        ),
        (
            "0 30 2 * * *",
            BERLIN,
            "2026-10-24 12:00:00",
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
        ),
        (
            "0 */20 1 * * *",
            NY,
            "2026-11-01 04:30:00",
            [
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:20:00-04:00",
                "2026-11-01T01:40:00-04:00",
                "2026-11-02T01:00:00-05:00",
            ],
        ),
        (  # every hour: runs in both passes of the repeated hour, an hour apart
            "0 30 * * * *",
            NY,
            "2026-11-01 05:00:00",
            [
                "2026-11-01T01:30:00-04:00",
                "2026-11-01T01:30:00-05:00",
                "2026-11-01T02:30:00-05:00",
            ],
        ),
    ],
)
def test_daylight_saving(frequency: str, tz: str, after: str, fires: list[str]) -> None:
    assert local_fires(frequency, tz, after, len(fires)) == fires


def test_fixed_time_does_not_rerun_in_the_repeated_hour() -> None:
    trigger = parse("0 30 1 * * *", anchor=utc("2026-01-01 00:00:00"), default_timezone=NY)
    # 05:45Z is 01:45 EDT: the 01:30 EST that follows is a repeat, so the next run is tomorrow
    assert trigger.next_fire(utc("2026-11-01 05:45:00")) == utc("2026-11-02 06:30:00")


@pytest.mark.parametrize(
    ("frequency", "moment"),
    [
        ("at(2026-03-08 02:30:00 America/New_York)", "2026-03-08 07:30:00"),  # gap: EST offset
        ("at(2026-11-01 01:30:00 America/New_York)", "2026-11-01 05:30:00"),  # repeat: first
    ],
)
def test_at_daylight_saving(frequency: str, moment: str) -> None:
    trigger = parse(frequency, anchor=utc("2026-01-01 00:00:00"))
    assert trigger.next_fire(utc("2026-01-01 00:00:00")) == utc(moment)


# --- rate -----------------------------------------------------------------------------------

ANCHOR = datetime(2026, 1, 1, 0, 0, 7, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("frequency", "after", "fire"),
    [
        ("rate(5m)", ANCHOR, ANCHOR + timedelta(minutes=5)),  # not at creation
        ("rate(5m)", ANCHOR - timedelta(days=3), ANCHOR + timedelta(minutes=5)),
        ("rate(5m)", ANCHOR + timedelta(minutes=5), ANCHOR + timedelta(minutes=10)),
        ("rate(5m)", ANCHOR + timedelta(minutes=12), ANCHOR + timedelta(minutes=15)),
        ("rate(90s)", ANCHOR + timedelta(hours=1), ANCHOR + timedelta(seconds=3690)),
        ("rate(2h)", ANCHOR + timedelta(hours=3), ANCHOR + timedelta(hours=4)),
        ("rate(7d)", ANCHOR, ANCHOR + timedelta(days=7)),
        ("RATE( 1 D )", ANCHOR, ANCHOR + timedelta(days=1)),  # as lenient as the agent
    ],
)
def test_rate_is_anchored_at_creation(frequency: str, after: datetime, fire: datetime) -> None:
    assert parse(frequency, anchor=ANCHOR).next_fire(after) == fire


def test_rate_ignores_time_zones_and_returns_utc() -> None:
    shanghai = parse_timezone("Asia/Shanghai")
    trigger = parse("rate(1h)", anchor=ANCHOR.astimezone(shanghai), default_timezone=NY)
    fire = trigger.next_fire(ANCHOR.astimezone(shanghai))
    assert fire == ANCHOR + timedelta(hours=1)
    assert fire is not None and fire.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "end", "latest"),
    [
        (ANCHOR, ANCHOR + timedelta(minutes=4), None),
        (ANCHOR, ANCHOR + timedelta(minutes=5), ANCHOR + timedelta(minutes=5)),
        (ANCHOR, ANCHOR + timedelta(days=30, minutes=3), ANCHOR + timedelta(days=30)),
        (ANCHOR + timedelta(minutes=6), ANCHOR + timedelta(minutes=9), None),
        (ANCHOR - timedelta(days=1), ANCHOR, None),
    ],
)
def test_rate_latest_fire(start: datetime, end: datetime, latest: datetime | None) -> None:
    trigger = parse("rate(5m)", anchor=ANCHOR)
    assert isinstance(trigger, RateTrigger)
    assert trigger.latest_fire(start, end) == latest
    # the O(1) override agrees with the generic search
    assert Trigger.latest_fire(trigger, start, end) == latest


# --- at -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "moment"),
    [
        ("at(2022-06-06 13:15:30)", "2022-06-06 13:15:30"),  # UTC by default
        ("at(2022-06-06 13:15:30 Asia/Shanghai)", "2022-06-06 05:15:30"),
        ("at(2022-06-06 13:15:30 GMT+8:00)", "2022-06-06 05:15:30"),
        ("at(2022-06-06 13:15:30 GMT-7:00)", "2022-06-06 20:15:30"),
        ("at(2022-06-06 13:15:30 UTC)", "2022-06-06 13:15:30"),
    ],
)
def test_at_fires_once(frequency: str, moment: str) -> None:
    # the instance zone does not apply to at(): only cron defaults to it
    trigger = parse(frequency, anchor=utc("2022-01-01 00:00:00"), default_timezone=NY)
    assert trigger.next_fire(utc("2022-01-01 00:00:00")) == utc(moment)
    assert trigger.next_fire(utc(moment) - timedelta(microseconds=1)) == utc(moment)
    assert trigger.next_fire(utc(moment)) is None
    assert trigger.fires_between(utc("2022-01-01 00:00:00"), FAR) == [utc(moment)]


def test_at_in_the_past_parses_but_does_not_validate() -> None:
    anchor = utc("2026-01-01 00:00:00")
    trigger = parse("at(2022-06-06 13:15:30 Asia/Shanghai)", anchor=anchor)
    assert trigger.next_fire(anchor) is None
    with pytest.raises(FrequencyError, match=r"at\(\.\.\.\) is in the past"):
        validate("at(2022-06-06 13:15:30 Asia/Shanghai)", anchor=anchor, timeout=60)
    future = validate("at(2026-01-01 08:00:01 Asia/Shanghai)", anchor=anchor, timeout=3600)
    assert future.next_fire(anchor) == utc("2026-01-01 00:00:01")


# --- validate: the documented limits --------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "timeout", "problem"),
    [
        ("rate(60s)", 59, None),
        ("rate(1m)", 60, "must be greater than the Timeout"),  # strictly greater
        ("rate(59s)", 10, "between 60 s and 7 days"),
        ("rate(7d)", 60, None),
        ("rate(169h)", 60, "between 60 s and 7 days"),
        ("rate(2h)", 7200, "must be greater than the Timeout"),
        ("0 * * * * *", 60, None),  # cron: at least the Timeout (equal is fine)
        ("0 * * * * *", 61, "fires too often: 60 s"),
        ("0/10 * * * * *", 10, None),
        ("0/5 * * * * *", 1, "at least 10 s apart"),  # 10 s floor even for tiny Timeouts
        ("* * * * * *", 60, "fires too often: 1 s"),
        ("*/30 * * * * *", 60, "fires too often: 30 s"),
        ("0,5 0 0 1 1 ?", 1, "fires too often: 5 s"),  # the burst is months away
        ("0 0,1 8 * * *", 60, None),
        ("0 0 0 30 2 ?", 60, "never fires"),  # February 30th
        ("0 0 0 * * * 2025", 60, "never fires"),  # its year has passed
        ("0 15 10 ? * * 2026 Asia/Shanghai", 60, None),
        ("at(2026-01-01 00:00:00)", 60, "is in the past"),  # the anchor itself is too late
    ],
)
def test_validate_limits(frequency: str, timeout: int, problem: str | None) -> None:
    anchor = utc("2026-01-01 00:00:00")
    if problem is None:
        assert validate(frequency, anchor=anchor, timeout=timeout).next_fire(anchor)
    else:
        with pytest.raises(FrequencyError, match=problem):
            validate(frequency, anchor=anchor, timeout=timeout)


def test_validate_is_parse_plus_limits() -> None:
    anchor = utc("2026-01-01 00:00:00")
    assert parse("rate(1s)", anchor=anchor).next_fire(anchor) == utc("2026-01-01 00:00:01")
    with pytest.raises(FrequencyError, match="unknown time zone 'Mars/Base'"):
        validate("0 0 0 * * * Mars/Base", anchor=anchor, timeout=60)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "message"),
    [
        ("", "Frequency is empty"),
        ("   ", "Frequency is empty"),
        ("rate(0m)", r"between 60 s and 7 days"),
        ("rate(1001d)", r"between 60 s and 7 days"),
        ("rate(5)", r"must look like rate\(5m\)"),
        ("rate(5w)", r"must look like rate\(5m\)"),
        ("rate(-5m)", r"must look like rate\(5m\)"),
        ("rate(5m", r"must look like rate\(5m\)"),
        ("at(2022-06-06)", r"must look like at\("),
        ("at(2022-06-06T13:15:30)", r"must look like at\("),
        ("at(2022-02-30 00:00:00)", "impossible date or time"),
        ("at(2022-06-06 24:00:00)", "impossible date or time"),
        ("at(2022-06-06 13:15:30 Mars/Base)", "unknown time zone 'Mars/Base'"),
        ("0 0 0 * *", r"cron needs 6 or 7 fields: second minute hour day month week"),
        ("0 0 0 * * * * * *", "cron needs 6 or 7 fields.*got 9"),
        ("0 0 0 * * * 2022 2023", "cron needs 6 or 7 fields"),
        ("0 0 0 * * * Mars/Base", "unknown time zone 'Mars/Base'"),
        ("0 0 0 * * * 2022 Mars/Base", "unknown time zone 'Mars/Base'"),
        ("0 0 0 * * * GMT+8", "unknown time zone 'GMT\\+8'"),
        ("60 * * * * *", "cron second field '60' is invalid"),
        ("0 61 * * * *", r"cron minute field '61' is invalid \(expected 0-59\)"),
        ("0 0 24 * * *", "cron hour field '24' is invalid"),
        ("0 0 0 32 * *", "cron day-of-month field '32' is invalid"),
        ("0 0 0 LW * ?", "cron day-of-month field 'LW' is invalid"),
        ("0 0 0 * 13 *", "cron month field '13' is invalid"),
        ("0 0 0 * FOO *", "cron month field 'FOO' is invalid"),
        ("0 0 0 ? * 8", "cron day-of-week field '8' is invalid"),
        ("0 0 0 ? * 1#6", "cron day-of-week field '1#6' is invalid"),
        ("0 0 0 ? * H", "cron day-of-week field 'H' is invalid"),  # no croniter hashing
        ("0 0 R * * *", "cron hour field 'R' is invalid"),  # no croniter randomness
        ("0 0 0 * * * 1969", "cron year field '1969' is invalid"),
        ("0 0 0 * * * 2100", r"cron year field '2100' is invalid \(expected 1970-2099\)"),
        ("? 0 0 * * *", "cron second field '\\?' is invalid"),
        ("0 */0 * * * *", "cron minute field '\\*/0' is invalid"),
        ("0 0 0 * * 1-", "cron day-of-week field '1-' is invalid"),
    ],
)
def test_errors(frequency: str, message: str) -> None:
    with pytest.raises(FrequencyError, match=message):
        parse(frequency, anchor=utc("2026-01-01 00:00:00"))


@pytest.mark.parametrize(
    ("name", "offset_hours"),
    [
        ("UTC", 0),
        ("GMT", 0),
        ("GMT+8:00", 8),
        ("GMT+08:00", 8),
        ("GMT-7:00", -7),
        ("GMT+5:45", 5.75),
        ("GMT+14:00", 14),
        ("GMT-12:00", -12),
        ("Asia/Shanghai", 8),
        ("America/New_York", -5),  # in January
        ("Etc/GMT+8", -8),
    ],
)
def test_parse_timezone(name: str, offset_hours: float) -> None:
    offset = datetime(2026, 1, 1, tzinfo=parse_timezone(name)).utcoffset()
    assert offset == timedelta(hours=offset_hours)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Mars/Base", "unknown time zone 'Mars/Base'"),
        ("", "unknown time zone ''"),
        ("utc", "unknown time zone 'utc'"),
        ("Asia", "unknown time zone 'Asia'"),  # a directory, not a zone
        ("../../etc/passwd", "unknown time zone"),
        ("/etc/localtime", "unknown time zone"),
        ("GMT+8", "unknown time zone 'GMT\\+8'"),
        ("GMT+8:60", "unknown time zone"),
        ("GMT+15:00", "outside GMT-12:00 .. GMT\\+14:00"),
        ("GMT-13:00", "outside GMT-12:00 .. GMT\\+14:00"),
    ],
)
def test_parse_timezone_errors(name: str, message: str) -> None:
    with pytest.raises(FrequencyError, match=message):
        parse_timezone(name)


def test_bad_default_timezone_is_a_frequency_error() -> None:
    with pytest.raises(FrequencyError, match="unknown time zone 'Nowhere'"):
        parse("0 0 0 * * *", anchor=ANCHOR, default_timezone="Nowhere")


def test_frequency_error_is_a_value_error() -> None:
    assert issubclass(FrequencyError, ValueError)


@pytest.mark.parametrize("frequency", ["rate(5m)", "at(2030-01-01 00:00:00)", "0 0 0 * * *"])
def test_naive_datetimes_are_rejected(frequency: str) -> None:
    trigger = parse(frequency, anchor=ANCHOR)
    with pytest.raises(ValueError, match="naive datetime"):
        trigger.next_fire(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive datetime"):
        parse(frequency, anchor=datetime(2026, 1, 1))


# --- helpers for the scheduler --------------------------------------------------------------


def test_fires_between_is_half_open_and_limited() -> None:
    trigger = parse("0 */10 * * * *", anchor=ANCHOR)
    start, end = utc("2026-01-01 00:00:00"), utc("2026-01-01 01:00:00")
    assert len(trigger.fires_between(start, end)) == 6  # 00:10 .. 01:00, not 00:00
    assert trigger.fires_between(start, end)[-1] == end
    assert trigger.fires_between(start, end, limit=2) == [
        utc("2026-01-01 00:10:00"),
        utc("2026-01-01 00:20:00"),
    ]


@pytest.mark.parametrize(
    ("frequency", "start", "end", "latest"),
    [  # coalescing after an outage: only the newest missed fire matters
        ("*/10 * * * * *", "2026-01-01 00:00:00", "2026-01-08 12:34:56", "2026-01-08 12:34:50"),
        ("0 30 21 * * *", "2026-01-01 00:00:00", "2026-03-01 21:29:59", "2026-02-28 21:30:00"),
        ("0 0 0 1 1 ?", "2026-01-01 00:00:00", "2035-06-01 00:00:00", "2035-01-01 00:00:00"),
        ("0 0 0 1 1 ?", "2026-01-01 00:00:00", "2026-12-31 23:59:59", None),
        ("0 0/5 14 * 10 ? 2022/2", "2022-01-01 00:00:00", "2030-01-01 00:00:00",
         "2028-10-31 14:55:00"),
        ("at(2026-02-01 00:00:00)", "2026-01-01 00:00:00", "2026-03-01 00:00:00",
         "2026-02-01 00:00:00"),
    ],
)  # fmt: skip
def test_latest_fire(frequency: str, start: str, end: str, latest: str | None) -> None:
    trigger = parse(frequency, anchor=utc(start))
    expected = utc(latest) if latest else None
    assert trigger.latest_fire(utc(start), utc(end)) == expected
