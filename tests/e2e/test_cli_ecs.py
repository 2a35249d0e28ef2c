"""`assistcli ecs ...` against a real controller: the seed's commands, list syntax, output."""

from __future__ import annotations

import base64
import functools
import json
import uuid
from pathlib import Path

import yaml
from conftest import Controller, StartAgent, api, wait_for
from test_cli_support import Cli

from assistcli.api.columns import TABLE_COLUMNS
from assistcli.output import find_collection

pytest_plugins = ["test_cli_support"]  # the cli and cli_on fixtures

ECHO_123 = "ZWNobyAxMjM="
FILE = {"Content": "aGk=", "Timeout": 60}
SCRIPT = {"CommandContent": ECHO_123}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_command(cli: Cli, name: str | None = None) -> str:
    args = f"ecs CreateCommand --Type RunShellScript --CommandContent {ECHO_123}".split()
    created = cli.json(*args, "--Name", name or unique("cmd"))
    return str(created["CommandId"])


def targets(cli: Cli, invoke_id: str) -> set[str]:
    found = cli.json("ecs", "DescribeInvocations", "--InvokeId", invoke_id)
    invocation = found["Invocations"]["Invocation"][0]  # type: ignore[index]
    return {target["InstanceId"] for target in invocation["InvokeInstances"]["InvokeInstance"]}


def test_the_seed_commands_work_verbatim(cli_on: Cli, controller: Controller) -> None:
    instance = controller.add_instance()
    seed = f"ecs CreateCommand --CommandContent {ECHO_123} --Type RunShellScript --Name test"
    created = cli_on.subprocess(*seed.split(), "--Description", "test")
    assert created.returncode == 0, created.stderr
    command_id = json.loads(created.stdout)["CommandId"]
    seed = f"ecs InvokeCommand --InstanceId.1 {instance} --CommandId {command_id} --Timed false"
    invoked = cli_on.subprocess(*seed.split())
    assert invoked.returncode == 0, invoked.stderr
    invoke_id = json.loads(invoked.stdout)["InvokeId"]
    for action in ("DescribeInvocations", "DescribeInvocationResults"):
        done = cli_on.subprocess(
            *f"ecs {action} --InstanceId {instance} --InvokeId {invoke_id}".split()
        )
        assert done.returncode == 0, done.stderr
        assert invoke_id in done.stdout and '"Pending"' in done.stdout


def test_every_list_spelling_reaches_the_controller(cli_on: Cli, controller: Controller) -> None:
    first, second = controller.add_instance(), controller.add_instance()
    command_id = create_command(cli_on)
    spellings = [
        ["--InstanceId.1", first, "--InstanceId.2", second],
        ["--InstanceIds", first, second],
        ["--InstanceIds", json.dumps([first, second])],
        ["--InstanceIds", f"{first},{second}"],
    ]
    for spelling in spellings:
        invoked = cli_on.json("ecs", "InvokeCommand", "--CommandId", command_id, *spelling)
        assert targets(cli_on, str(invoked["InvokeId"])) == {first, second}


def test_tags_booleans_and_file_content(cli_on: Cli, tmp_path: Path) -> None:
    script = tmp_path / "hello.sh"
    script.write_text("echo hello\n")
    options = "--Tag.1.Key team --Tag.1.Value ops --EnableParameter False --Timeout=30"
    created = cli_on.json(
        *f"ecs CreateCommand --Name {unique('file')} --Type RunShellScript {options}".split(),
        "--CommandContent",
        f"fileb://{script}",
    )
    describe = (
        f"ecs DescribeCommands --CommandId {created['CommandId']} --ContentEncoding PlainText"
    )
    command = cli_on.json(*describe.split())["Commands"]["Command"][0]  # type: ignore[index]
    assert command["CommandContent"] == "echo hello\n"
    assert command["Tags"]["Tag"] == [{"TagKey": "team", "TagValue": "ops"}]
    assert (command["EnableParameter"], command["Timeout"]) == (False, 30)


def test_output_formats(cli_on: Cli) -> None:
    name = unique("out")
    command_id = create_command(cli_on, name)
    describe = ["ecs", "DescribeCommands", "--CommandId", command_id]
    pretty = cli_on.ok(*describe).stdout
    assert pretty.startswith('{\n\t"Commands": {\n\t\t"Command": [')
    as_yaml = yaml.safe_load(cli_on.ok(*describe, "--output", "yaml").stdout)
    assert as_yaml["Commands"]["Command"][0]["Name"] == name
    query = "Commands.Command[0].Name"
    assert cli_on.ok(*describe, "--cli-query", query).stdout == f'"{name}"\n'
    assert cli_on.ok(*describe, "--query", query, "-o", "text").stdout == f"{name}\n"
    table = cli_on.ok(*describe, "-o", "cols=CommandId,Name", "rows=Commands.Command[]").stdout
    assert table.splitlines()[2].split(" | ") == [command_id, name]
    assert cli_on.ok(*describe, "--quiet").stdout == ""
    assert "\x1b[" not in pretty  # no colour off a terminal


def test_a_table_of_results_shows_what_a_person_reads(
    cli_on: Cli, controller: Controller, start_agent: StartAgent
) -> None:
    instance = start_agent(controller).instance_id
    script = "printf 'one\\ntwo\\n'; exit 3"
    run = ["ecs", "RunCommand", "--Type", "RunShellScript", "--CommandContent", script]
    run += ["--ContentEncoding", "PlainText", "--InstanceId.1", instance]
    invoke_id = str(cli_on.json(*run)["InvokeId"])
    results = ["ecs", "DescribeInvocationResults", "--InvokeId", invoke_id]
    results += ["--ContentEncoding", "PlainText"]

    def status() -> str:
        found = cli_on.json(*results)["Invocation"]["InvocationResults"]["InvocationResult"]  # type: ignore[index]
        return str(found[0]["InvocationStatus"])

    wait_for(lambda: status() == "Failed", what=f"{invoke_id} to fail")
    lines = cli_on.ok(*results, "-o", "table").stdout.splitlines()
    cells = [[cell.strip() for cell in line.split(" | ")] for line in lines]
    assert cells[0] == ["InstanceId", "InvocationStatus", "ExitCode", "Output"]
    assert cells[2:] == [[instance, "Failed", "3", "one\\ntwo\\n"]]
    assert max(len(line) for line in lines) < 80
    rows = "rows=Invocation.InvocationResults.InvocationResult[]"
    chosen = cli_on.ok(*results, "-o", "cols=InvokeId,Dropped,ExitCode", rows).stdout
    assert chosen.splitlines()[2].split(" | ") == [invoke_id, "0      ", "3"]


def test_every_default_table_column_is_a_field_of_its_rows(controller: Controller) -> None:
    client = api(controller)
    instance = controller.add_instance()
    client.call("CreateActivation", {"InstanceCount": 1})
    client.call("SendFile", {"InstanceId": [instance], "Name": "f", "TargetDir": "/tmp"} | FILE)
    client.call("CreateCommand", {"Name": "kept", "Type": "RunShellScript"} | SCRIPT)
    client.call("RunCommand", {"InstanceId": [instance], "Type": "RunShellScript"} | SCRIPT)
    for action, columns in TABLE_COLUMNS.items():
        answer = client.call(action, {"InstanceId": [instance]} if "Assistant" in action else {})
        path = find_collection(answer)
        assert path, action
        rows = functools.reduce(lambda data, key: data[key], path, answer)
        assert rows, action
        assert set(columns) <= set(rows[0]), (action, set(columns) - set(rows[0]))


def test_global_flags_anywhere_and_any_product_case(cli_on: Cli) -> None:
    command_id = create_command(cli_on)
    before = cli_on.ok(*f"-o yaml ECS DescribeCommands --CommandId {command_id}".split())
    after = cli_on.ok(*f"ecs DescribeCommands --CommandId {command_id} --output yaml".split())
    assert yaml.safe_load(before.stdout)["Commands"] == yaml.safe_load(after.stdout)["Commands"]


def test_dryrun_prints_the_signed_request_and_sends_nothing(
    cli_on: Cli, controller: Controller
) -> None:
    name = unique("dry")
    create = f"ecs CreateCommand --Name {name} --Type RunShellScript --CommandContent {ECHO_123}"
    shown = cli_on.ok(*create.split(), "--dryrun", "--region", "cn-beijing").stdout
    lines = shown.splitlines()
    assert lines[:2] == ["Skip invoke in dry-run mode, request is:", "-" * 36]
    assert lines[2].startswith("POST /?AccessKeyId=") and lines[2].endswith(" HTTP/1.1")
    for part in ("Action=CreateCommand", f"Name={name}", "RegionId=cn-beijing", "Signature="):
        assert part in lines[2]
    assert lines[3] == f"Host: {controller.endpoint}"
    assert controller.access_key_secret not in shown
    assert cli_on.json("ecs", "DescribeCommands", "--Name", name)["TotalCount"] == 0


def test_the_pager_merges_every_page(cli_on: Cli) -> None:
    prefix = unique("page")
    made = {create_command(cli_on, f"{prefix}-{n}") for n in range(7)}
    merged = cli_on.json(*f"ecs DescribeCommands --Name {prefix}* --PageSize 3 --pager".split())
    assert set(merged) == {"Commands"}
    assert {c["CommandId"] for c in merged["Commands"]["Command"]} == made  # type: ignore[index]
    refused = cli_on("ecs", "DeleteCommand", "--CommandId", "c-x", "--pager")
    assert refused.exit_code == 2 and "paged actions" in refused.stderr


def test_content_round_trips_through_base64(cli_on: Cli) -> None:
    command_id = create_command(cli_on)
    found = cli_on.json("ecs", "DescribeCommands", "--CommandId", command_id)
    content = found["Commands"]["Command"][0]["CommandContent"]  # type: ignore[index]
    assert base64.b64decode(content) == b"echo 123"
