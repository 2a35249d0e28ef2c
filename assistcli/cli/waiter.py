"""`--waiter expr=<jmespath> to=<value> [timeout=180] [interval=5] [fail=A,B]`.

Repeats a call until the expression's value (shown as Go's fmt.Sprint shows it, so `true`, not
`True`) equals `to`, as the aliyun CLI does; `fail=` (an extension) stops early on a failure
state instead of spinning until the timeout. On a terminal a spinner shows the last value.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol

from assistcli.cli.exits import CliError, ExitCode, usage
from assistcli.output import scalar, search

TIMEOUT_RANGE = (1.0, 3600.0)
INTERVAL_RANGE = (0.1, 60.0)


class WaiterSpec(NamedTuple):
    expr: str
    to: str
    timeout: float = 180.0
    interval: float = 5.0
    fail: tuple[str, ...] = ()


class Progress(Protocol):
    def update(self, message: str) -> None: ...


def parse_waiter(fields: Sequence[str]) -> WaiterSpec:
    values = dict(_field(text) for text in fields)
    unknown = set(values) - {"expr", "to", "timeout", "interval", "fail"}
    if unknown:
        raise usage(f"unknown --waiter field {sorted(unknown)[0]!r}")
    if not values.get("expr") or "to" not in values:
        raise usage("--waiter needs expr=<jmespath> and to=<value>")
    return WaiterSpec(
        expr=values["expr"],
        to=values["to"],
        timeout=_seconds("timeout", values.get("timeout", "180"), TIMEOUT_RANGE),
        interval=_seconds("interval", values.get("interval", "5"), INTERVAL_RANGE),
        fail=tuple(state for state in values.get("fail", "").split(",") if state),
    )


def _field(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals:
        raise usage(f"--waiter field {text!r} is not key=value")
    return key, value


def _seconds(name: str, text: str, bounds: tuple[float, float]) -> float:
    try:
        value = float(text)
    except ValueError:
        raise usage(f"--waiter {name}={text}: expected seconds") from None
    if not bounds[0] <= value <= bounds[1]:
        raise usage(f"--waiter {name} must be between {bounds[0]:g} and {bounds[1]:g} seconds")
    return value


def wait(
    call: Callable[[], dict[str, Any]],
    spec: WaiterSpec,
    *,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The first response whose `expr` shows as `to`."""
    started = clock()
    while True:
        response = call()
        last = scalar(search(spec.expr, response))
        if last == spec.to:
            return response
        if last in spec.fail:
            raise CliError(f"wait '{spec.expr}' to '{spec.to}' failed: reached '{last}'")
        elapsed = clock() - started
        if elapsed + spec.interval > spec.timeout:
            raise CliError(
                f"wait '{spec.expr}' to '{spec.to}' timeout({spec.timeout:g}seconds), "
                f"last='{last}'",
                code=ExitCode.TIMEOUT,
            )
        if progress is not None:
            progress.update(f"waiting for {spec.expr} = {spec.to}: {last} ({elapsed:.0f}s)")
        sleep(spec.interval)


class _Spinner:
    def __init__(self, status: Any) -> None:
        self._status = status

    def update(self, message: str) -> None:
        self._status.update(message)


@contextmanager
def spinner(enabled: bool) -> Iterator[Progress | None]:
    """A rich spinner on stderr when `enabled` (stderr is a terminal), else nothing."""
    if not enabled:
        yield None
        return
    from rich.console import Console

    with Console(stderr=True).status("waiting...") as status:
        yield _Spinner(status)
