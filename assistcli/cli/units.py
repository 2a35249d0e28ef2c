"""Option values with units: sizes (`16MiB`, `512K`, `1048576`), durations (`7d`, `12h`, `90`)."""

from __future__ import annotations

import re

import click

SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class ByteSize(click.ParamType[int]):
    """Bytes: a whole number, or one with K, M or G (binary: KiB, MiB, GiB also read)."""

    name = "size"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        found = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", str(value), re.IGNORECASE)
        if found is None:
            self.fail(f"expected a size such as 16MiB, 512K or 1048576, got {value!r}", param, ctx)
        return int(found[1]) * SIZE_UNITS[found[2].lower()]


class Duration(click.ParamType[float]):
    """Seconds: a number, or one with s, m, h or d."""

    name = "duration"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(value), re.IGNORECASE)
        if found is None:
            self.fail(f"expected a duration such as 7d, 12h, 30m or 90, got {value!r}", param, ctx)
        seconds = float(found[1]) * DURATION_UNITS[found[2].lower()]
        if seconds <= 0:
            self.fail(f"a duration must be positive, got {value!r}", param, ctx)
        return seconds
