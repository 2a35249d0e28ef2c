"""What both fuzz suites share: how many requests to send, how hypothesis runs, and a tally that
checks every answer against the API's rules (a 200 with a RequestId, or a 4xx in the error shape)
and keeps count.

`make test` runs a few hundred requests per suite, the same ones every time. `make test-faults`
runs FUZZ_REQUESTS per suite (default 5,000), drawn afresh each run from FUZZ_SEED (printed; set it
to replay a run).
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from rawclient import describe, error_body, ok_body

QUICK_REQUESTS = 250  # per suite in `make test`: a few seconds
FULL_REQUESTS = 5000  # per suite in `make test-faults`, unless FUZZ_REQUESTS says otherwise
SHOWN = 12  # bad answers listed when a run fails

T = TypeVar("T")
# The last line of a traceback in the controller's log: `ValueError: ...`, `sqlite3.Error: ...`.
RAISED = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Overflow)\w*): ?(.{0,100})", re.M)


@dataclass(frozen=True)
class Budget:
    requests: int
    seed: int | None  # None: the same examples every run


def budget(*, full: bool) -> Budget:
    if not full:
        return Budget(QUICK_REQUESTS, None)
    drawn = int(os.environ.get("FUZZ_SEED") or random.randrange(2**32))
    return Budget(int(os.environ.get("FUZZ_REQUESTS") or FULL_REQUESTS), drawn)


def run(strategy: st.SearchStrategy[T], plan: Budget, check: Callable[[T], None]) -> None:
    """`check` each of `plan.requests` drawn examples. Nothing is shrunk or stored: the tally
    collects every bad answer, so that a run reports how many there were, not just the first."""

    @settings(
        max_examples=plan.requests,
        deadline=None,
        database=None,
        derandomize=plan.seed is None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def each(case: T) -> None:
        check(case)

    (each if plan.seed is None else seed(plan.seed)(each))()


@dataclass
class Tally:
    """Answers seen, by HTTP status, and the ones that broke the rules."""

    name: str
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def check(self, resp: requests.Response, what: str) -> None:
        """Count `resp`; remember it, with `what` was sent, when it is not a proper answer."""
        self.statuses[resp.status_code] += 1
        try:
            if resp.status_code == 200:
                ok_body(resp)
            else:
                self.codes[error_body(resp)["Code"]] += 1
        except (AssertionError, ValueError):
            self.bad.append(f"{what[:300]} -> {describe(resp)[:300]}")

    def summary(self, plan: Budget) -> str:
        seeded = f" (FUZZ_SEED={plan.seed})" if plan.seed is not None else ""
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return (
            f"{self.name}{seeded}: {self.sent} requests, {self.server_errors} answered 5xx, "
            f"{len(self.bad)} bad answers; by status {{{statuses}}}; "
            f"top codes {self.codes.most_common(8)}"
        )


def assert_clean(
    tallies: list[Tally], plan: Budget, record: Callable[[str, Any], None], controller_log: str
) -> None:
    """Print and record each tally's counts; fail, with the bad answers and what the controller
    raised, if any broke the rules."""
    problems = []
    for tally in tallies:
        summary = tally.summary(plan)
        print(summary)
        record(f"{tally.name}_requests", tally.sent)
        record(f"{tally.name}_5xx", tally.server_errors)
        if tally.bad:
            problems += [summary, *tally.bad[:SHOWN]]
    raised = Counter(f"{kind}: {what}" for kind, what in RAISED.findall(controller_log))
    causes = [f"{n} x {line}" for line, n in raised.most_common(SHOWN)]
    assert not problems, "\n".join([*problems, "raised in the controller:", *causes])
