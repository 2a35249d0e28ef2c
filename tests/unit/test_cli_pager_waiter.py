"""--pager merges pages in both paging styles; --waiter polls until a value matches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from assistcli.cli.exits import CliError, ExitCode
from assistcli.cli.pager import PagerSpec, collect, parse_pager
from assistcli.cli.waiter import WaiterSpec, parse_waiter, spinner, wait

ITEMS = [f"c-{n}" for n in range(7)]


def token_pages(params: Mapping[str, str]) -> dict[str, Any]:
    """NextToken paging, three items a page."""
    offset = int(params.get("NextToken", "0"))
    page = ITEMS[offset : offset + 3]
    token = str(offset + 3) if offset + 3 < len(ITEMS) else ""
    return {"RequestId": "r", "Commands": {"Command": page}, "NextToken": token}


def numbered_pages(params: Mapping[str, str]) -> dict[str, Any]:
    """PageNumber paging under a nested parent, as DescribeInvocationResults answers."""
    number = int(params.get("PageNumber", "1"))
    page = ITEMS[(number - 1) * 3 : number * 3]
    fields = {"TotalCount": len(ITEMS), "PageNumber": number, "PageSize": 3}
    return {"Invocation": {**fields, "InvocationResults": {"InvocationResult": page}}}


def test_token_pages_are_merged_under_the_collection() -> None:
    merged = collect(token_pages, {"Name": "x"}, PagerSpec())
    assert merged == {"Commands": {"Command": ITEMS}}


def test_numbered_pages_under_a_nested_parent() -> None:
    merged = collect(numbered_pages, {}, PagerSpec())
    assert merged == {"Invocation": {"InvocationResults": {"InvocationResult": ITEMS}}}


def test_an_explicit_path_and_field_names() -> None:
    spec = parse_pager(["path=Commands.Command[]", "NextToken=NextToken"])
    assert spec.path == ("Commands", "Command")
    assert parse_pager(["Commands.Command[]"]).path == ("Commands", "Command")
    assert collect(token_pages, {}, spec)["Commands"]["Command"] == ITEMS


def test_bad_pager_fields() -> None:
    with pytest.raises(CliError, match="--PageSize"):
        parse_pager(["PageSize=50"])
    with pytest.raises(CliError, match="cannot find the collection"):
        collect(lambda _: {"RequestId": "r"}, {}, PagerSpec())


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def statuses(*values: str) -> Any:
    answers = iter(values)
    return lambda: {"Invocation": {"Status": next(answers)}}


def test_the_waiter_returns_the_first_matching_response() -> None:
    clock = FakeClock()
    seen: list[str] = []

    class Progress:
        def update(self, message: str) -> None:
            seen.append(message)

    spec = parse_waiter(["expr=Invocation.Status", "to=Finished", "interval=2"])
    answers = statuses("Pending", "Running", "Finished")
    got = wait(answers, spec, progress=Progress(), clock=clock, sleep=clock.sleep)
    assert got == {"Invocation": {"Status": "Finished"}}
    assert clock.now == 4 and "Running" in seen[-1]


def test_the_waiter_times_out_like_aliyun() -> None:
    clock = FakeClock()
    spec = WaiterSpec(expr="Invocation.Status", to="Finished", timeout=5, interval=2)
    with pytest.raises(CliError) as caught:
        wait(statuses(*["Pending"] * 10), spec, clock=clock, sleep=clock.sleep)
    assert caught.value.code == ExitCode.TIMEOUT
    assert caught.value.message == (
        "wait 'Invocation.Status' to 'Finished' timeout(5seconds), last='Pending'"
    )


def test_the_waiter_stops_on_a_failure_state() -> None:
    clock = FakeClock()
    spec = parse_waiter(["expr=Invocation.Status", "to=Finished", "fail=Failed,Stopped"])
    with pytest.raises(CliError, match="reached 'Failed'") as caught:
        wait(statuses("Running", "Failed"), spec, clock=clock, sleep=clock.sleep)
    assert caught.value.code == ExitCode.ERROR


def test_booleans_compare_as_go_prints_them() -> None:
    spec = parse_waiter(["expr=Done", "to=true"])
    assert wait(lambda: {"Done": True}, spec) == {"Done": True}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (["to=x"], "needs expr"),
        (["expr=a", "to=b", "timeout=0"], "between"),
        (["expr=a", "to=b", "interval=soon"], "expected seconds"),
        (["expr=a", "to=b", "colour=red"], "unknown --waiter field"),
        (["expr"], "not key=value"),
    ],
)
def test_bad_waiter_fields(fields: list[str], message: str) -> None:
    with pytest.raises(CliError, match=message):
        parse_waiter(fields)


def test_the_spinner_runs_on_a_terminal_and_is_absent_otherwise() -> None:
    with spinner(True) as progress:
        assert progress is not None
        progress.update("waiting for X = Y: Pending (1s)")
    with spinner(False) as progress:
        assert progress is None
