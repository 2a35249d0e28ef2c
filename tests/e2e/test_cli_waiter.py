"""--waiter against a real controller: no agent runs, so invocations end Stopped or Failed."""

from __future__ import annotations

from conftest import Controller, StartController
from test_cli_support import Cli, profile_for

pytest_plugins = ["test_cli_support"]  # the cli and cli_on fixtures

STATUS = "expr=Invocations.Invocation[0].InvocationStatus"


def invoke(cli: Cli, instance: str) -> str:
    create = "ecs CreateCommand --Name w --Type RunShellScript --CommandContent ZWNobyAxMjM="
    command_id = cli.json(*create.split())["CommandId"]
    invoked = cli.json(
        *f"ecs InvokeCommand --CommandId {command_id} --InstanceIds {instance}".split()
    )
    return str(invoked["InvokeId"])


def wait_for(invoke_id: str, fields: str) -> list[str]:
    return [
        *f"ecs DescribeInvocations --InvokeId {invoke_id} --waiter {STATUS}".split(),
        *fields.split(),
    ]


def test_wait_until_a_stopped_invocation_is_stopped(cli_on: Cli, controller: Controller) -> None:
    invoke_id = invoke(cli_on, controller.add_instance())
    cli_on.ok("ecs", "StopInvocation", "--InvokeId", invoke_id)
    waited = cli_on.json(*wait_for(invoke_id, "to=Stopped interval=0.2 timeout=10"))
    assert waited["Invocations"]["Invocation"][0]["InvocationStatus"] == "Stopped"  # type: ignore[index]


def test_wait_until_an_undelivered_invocation_fails(
    cli: Cli, start_controller: StartController
) -> None:
    impatient = start_controller("--delivery-timeout", "1")
    cli.save_profile(profile_for(impatient))
    invoke_id = invoke(cli, impatient.add_instance())
    cli.ok(*wait_for(invoke_id, "to=Failed interval=0.2 timeout=20"))


def test_a_waiter_gives_up_at_its_timeout(cli_on: Cli, controller: Controller) -> None:
    invoke_id = invoke(cli_on, controller.add_instance())
    result = cli_on(*wait_for(invoke_id, "to=Finished timeout=1 interval=0.3"))
    assert result.exit_code == 6
    assert f"wait '{STATUS[5:]}' to 'Finished' timeout(1seconds), last='Pending'" in result.stderr


def test_a_waiter_on_a_mutating_action_is_refused_before_anything_runs(
    cli_on: Cli, controller: Controller
) -> None:
    instance = controller.add_instance()
    name = f"waited-{instance}"
    run = ["ecs", "RunCommand", "--Type", "RunShellScript", "--CommandContent", "ZA=="]
    run += ["--Name", name, "--InstanceId.1", instance]
    refused = cli_on(*run, "--waiter", "expr=InvokeId", "to=never", "interval=0.1")
    assert refused.exit_code == 2, refused.stderr
    assert "RunCommand is not read-only: each repeat would do it again" in refused.stderr
    assert "assistcli ecs DescribeInvocations --InvokeId ID --waiter" in refused.stderr
    assert "assistcli ecs RunCommand ... --watch" in refused.stderr

    def invocations() -> int:
        listed = cli_on.json("ecs", "DescribeInvocations", "--CommandName", name)
        return int(listed["TotalCount"])  # type: ignore[call-overload]

    assert invocations() == 0
    cli_on.ok(*run)
    assert invocations() == 1
