"""Schedules through the API, in process: what is refused and replaced, and a stopped schedule
that never fires again, checked on an injected clock instead of a real period's wait."""

from __future__ import annotations

import time
from typing import Any

import pytest
from agents import ProtocolAgent
from conftest import StartApp, api, wait_for
from inprocess import Clock

from assistcli.controller.broker import LocalEventBroker
from assistcli.controller.notifier import Notifier
from assistcli.controller.scheduler import Scheduler
from assistcli.errors import ApiError

EVERY_10_S = "0/10 * * * * *"


def invocation(ctl: Any, invoke_id: str) -> dict[str, Any]:
    found = api(ctl).call("DescribeInvocations", {"InvokeId": invoke_id})
    return found["Invocations"]["Invocation"][0]  # type: ignore[no-any-return]


def runs(ctl: Any, invoke_id: str) -> list[dict[str, Any]]:
    answer = api(ctl).call(
        "DescribeInvocationResults", {"InvokeId": invoke_id, "IncludeHistory": True}
    )
    return answer["Invocation"]["InvocationResults"]["InvocationResult"]  # type: ignore[no-any-return]


def test_a_stopped_schedule_fires_no_more(start_app: StartApp) -> None:
    clock = Clock(time.time() // 10 * 10 + 1)  # a second past a 10 s mark, near enough to
    # the real time for signed requests to be fresh
    ctl = start_app(clock=clock)
    agent = ProtocolAgent.register(ctl)
    params = {"Type": "RunShellScript", "CommandContent": "date", "InstanceId": [agent.instance_id]}
    invoke_id = api(ctl).call("RunCommand", {**params, "Frequency": EVERY_10_S, "Timeout": 10})[
        "InvokeId"
    ]
    clock.advance(10)  # the first fire is due: the scheduler looks at least once a second
    [task] = wait_for(lambda: agent.poll()["tasks"], what="the first run")
    agent.finish(task["invoke_id"])
    api(ctl).call("StopInvocation", {"InvokeId": invoke_id})
    assert invocation(ctl, invoke_id)["InvocationStatus"] == "Stopped"
    count = len(runs(ctl, invoke_id))
    clock.advance(30)  # three more moments pass, and any scheduler looks
    scheduler = Scheduler(ctl.store, Notifier(LocalEventBroker()), 60.0, clock)
    ctl.run(scheduler.tick())
    assert len(runs(ctl, invoke_id)) == count
    assert agent.poll()["tasks"] == []
    assert invocation(ctl, invoke_id)["InvocationStatus"] == "Stopped"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"RepeatMode": "Period"}, "MissingParam.Frequency"),
        ({"Frequency": "rate(30s)"}, "InvalidParam.Frequency"),
        ({"Frequency": "0/10 * * * * *"}, "InvalidParam.Frequency"),  # under the 60 s Timeout
        ({"Frequency": "at(2020-01-01 00:00:00)"}, "InvalidParam.Frequency"),
        ({"Frequency": "0 0 * * * * Mars/Base"}, "InvalidParam.Frequency"),
    ],
)
def test_bad_frequencies_are_refused(
    app_controller: Any, params: dict[str, str], code: str
) -> None:
    instance = app_controller.add_instance()
    with pytest.raises(ApiError) as caught:
        api(app_controller).call(
            "RunCommand",
            {"Type": "RunShellScript", "CommandContent": "date", "InstanceId": [instance]} | params,
        )
    assert (caught.value.code, caught.value.status) == (code, 400)


def test_the_seed_timed_example_is_accepted(app_controller: Any) -> None:
    ctl = app_controller
    instance = ctl.add_instance()
    command = api(ctl).call(
        "CreateCommand", {"Name": "seed", "Type": "RunShellScript", "CommandContent": "ZGF0ZQ=="}
    )
    invoke_id = api(ctl).call(
        "InvokeCommand",
        {
            "CommandId": command["CommandId"],
            "InstanceId": [instance],
            "Timed": True,
            "Frequency": "0 */20 * * * *",
        },
    )["InvokeId"]
    shown = invocation(ctl, invoke_id)
    assert (shown["RepeatMode"], shown["Timed"], shown["InvocationStatus"]) == (
        "Period",
        True,
        "Scheduled",
    )


def test_parameters_of_a_live_schedule_are_replaced(app_controller: Any) -> None:
    ctl = app_controller
    instance = ctl.add_instance()
    invoke_id = api(ctl).call(
        "RunCommand",
        {
            "Type": "RunShellScript",
            "CommandContent": "echo {{greeting}}",
            "EnableParameter": True,
            "Parameters": {"greeting": "hello"},
            "InstanceId": [instance],
            "Frequency": "rate(1h)",
            "Timeout": 10,
        },
    )["InvokeId"]
    api(ctl).call(
        "ModifyInvocationAttribute", {"InvokeId": invoke_id, "Parameters": {"greeting": "bye"}}
    )
    assert invocation(ctl, invoke_id)["Parameters"] == '{"greeting": "bye"}'
    with pytest.raises(ApiError) as caught:
        api(ctl).call(
            "ModifyInvocationAttribute", {"InvokeId": invoke_id, "Parameters": {"other": "x"}}
        )
    assert caught.value.code == "Parameter.NotMatched"
