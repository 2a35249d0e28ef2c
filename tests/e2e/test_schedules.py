"""Timed and reboot tasks end to end: a real controller, a real agent, real schedules."""

from __future__ import annotations

import calendar
import time
from typing import Any

import pytest
from conftest import Agent, Controller, StartAgent, StartController, api, wait_for

from assistcli.errors import ApiError

pytestmark = pytest.mark.e2e

EVERY_10_S = "0/10 * * * * *"


@pytest.fixture(scope="module")
def ctl(start_controller: StartController) -> Controller:
    return start_controller()


def history(ctl: Controller, invoke_id: str) -> list[dict[str, Any]]:
    answer = api(ctl).call(
        "DescribeInvocationResults",
        {"InvokeId": invoke_id, "IncludeHistory": True, "ContentEncoding": "PlainText"},
    )
    return answer["Invocation"]["InvocationResults"]["InvocationResult"]  # type: ignore[no-any-return]


def finished_runs(ctl: Controller, invoke_id: str, count: int) -> list[dict[str, Any]]:
    runs = [r for r in history(ctl, invoke_id) if r["InvocationStatus"] == "Success"]
    return runs if len(runs) >= count else []


def invocation(ctl: Controller, invoke_id: str) -> dict[str, Any]:
    found = api(ctl).call("DescribeInvocations", {"InvokeId": invoke_id})
    return found["Invocations"]["Invocation"][0]  # type: ignore[no-any-return]


def epoch(stamp: str) -> int:
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def run(ctl: Controller, agent: Agent, **params: Any) -> str:
    answer = api(ctl).call(
        "RunCommand",
        {"Type": "RunShellScript", "CommandContent": "date +%s", "InstanceId": [agent.instance_id]}
        | params,
    )
    return str(answer["InvokeId"])


def test_cron_fires_on_time_through_a_kill_9_until_stopped(
    ctl: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(ctl)
    # Away from a 10 s mark, so that no run is due while the invocation is being made.
    wait_for(lambda: 1 <= time.time() % 10 <= 7, 10, "a moment between two fires")
    invoke_id = run(ctl, agent, Frequency=EVERY_10_S, Timeout=10)
    assert invocation(ctl, invoke_id)["InvocationStatus"] == "Scheduled"
    before = wait_for(lambda: finished_runs(ctl, invoke_id, 2), 35, "two runs")
    assert all(epoch(r["StartTime"]) % 10 == 0 for r in before), before  # on the 10 s marks
    ctl.restart(hard=True)  # kill -9 between fires
    after = wait_for(lambda: finished_runs(ctl, invoke_id, len(before) + 2), 40, "two more runs")
    slots = [epoch(r["StartTime"]) // 10 for r in after]
    assert slots == list(range(slots[0], slots[0] + len(slots))), after  # none lost, none twice
    assert [r["Repeats"] for r in after] == list(range(1, len(after) + 1))
    api(ctl).call("StopInvocation", {"InvokeId": invoke_id})
    stopped = wait_for(lambda: invocation(ctl, invoke_id)["InvocationStatus"] == "Stopped", 15)
    assert stopped
    assert invocation(ctl, invoke_id)["Timed"] is False
    # That it never fires again is checked on an injected clock: integration/test_schedule_api.py.


def test_reboot_tasks_run_after_the_next_boots(ctl: Controller, start_agent: StartAgent) -> None:
    agent = start_agent(ctl, env={"AGENTD_BOOT_ID": "boot-1"})
    once = run(ctl, agent, RepeatMode="NextRebootOnly")
    every = run(ctl, agent, RepeatMode="EveryReboot")
    assert [invocation(ctl, i)["InvocationStatus"] for i in (once, every)] == ["Scheduled"] * 2
    for boot, runs_of_every in (("boot-2", 1), ("boot-3", 2)):
        assert agent.stop() == 0
        agent.env["AGENTD_BOOT_ID"] = boot
        agent.start()
        wait_for(lambda n=runs_of_every: finished_runs(ctl, every, n), what=f"run on {boot}")
    assert len(finished_runs(ctl, once, 1)) == 1  # the next boot only
    assert invocation(ctl, once)["InvocationStatus"] == "Success"
    assert invocation(ctl, every)["InvocationStatus"] == "Scheduled"


def test_dry_run_checks_and_runs_nothing(ctl: Controller, start_agent: StartAgent) -> None:
    agent = start_agent(ctl)
    offline = ctl.add_instance(name="offline")
    params = {"Type": "RunShellScript", "CommandContent": "echo no", "RepeatMode": "DryRun"}
    answer = api(ctl).call("RunCommand", {**params, "InstanceId": [agent.instance_id, offline]})
    assert answer["InvokeId"] == ""
    by_id = {row["InstanceId"]: row for row in answer["DryRun"]["Instances"]}
    assert answer["DryRun"]["Passed"] is False
    assert by_id[agent.instance_id]["ErrorCode"] == ""
    assert by_id[offline]["ErrorCode"] == "ClientNotRunning"
    mine = api(ctl).call("DescribeInvocations", {"InstanceId": offline})
    assert mine["Invocations"]["Invocation"] == []


def test_a_scheduled_task_is_modified_in_place(ctl: Controller, start_agent: StartAgent) -> None:
    agent = start_agent(ctl)
    other = ctl.add_instance(name="other")
    invoke_id = run(ctl, agent, Frequency="rate(1h)", Timeout=10)
    changed = api(ctl).call(
        "ModifyInvocationAttribute",
        {
            "InvokeId": invoke_id,
            "Frequency": "0 0 3 * * *",
            "CommandContent": "echo changed",
            "InstanceId": [other],
        },
    )
    shown = invocation(ctl, invoke_id)
    assert shown["Frequency"] == "0 0 3 * * *"
    assert changed["CommandId"] == shown["CommandId"] != ""
    assert {i["InstanceId"] for i in shown["InvokeInstances"]["InvokeInstance"]} == {
        agent.instance_id,
        other,
    }
    with pytest.raises(ApiError) as caught:
        api(ctl).call("ModifyInvocationAttribute", {"InvokeId": invoke_id, "Frequency": "rate(1s)"})
    assert (caught.value.code, caught.value.status) == ("InvalidParam.Frequency", 400)
