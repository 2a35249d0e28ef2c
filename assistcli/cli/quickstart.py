"""`assistcli quickstart`: the local controller, this machine as an instance, a first command."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistcli.api import status as st
from assistcli.cli.controller import DATA_DIR
from assistcli.cli.daemon import LISTEN, launch
from assistcli.cli.exits import CliError
from assistcli.cli.local import (
    AGENT_DIR,
    local_agent_pid,
    local_key,
    read_pid,
    start_local_agent,
)
from assistcli.config import local_endpoint

if TYPE_CHECKING:
    from rich.console import Console

    from assistcli.client import ApiClient

WAIT = 30.0  # seconds for the agent to connect and the command to finish


@click.command()
@LISTEN
@DATA_DIR
def quickstart(listen: str, data_dir: Path) -> None:
    """Start the local controller and an agent for this machine (if they are not running yet),
    run `echo 123` on it through CreateCommand and InvokeCommand, and show the result."""
    from rich.console import Console

    from assistcli.cli.session import transport_for
    from assistcli.client import ApiClient
    from assistcli.config import Overrides, choose_trust

    console = Console()
    if read_pid(data_dir) is None:
        launch(listen, data_dir)
        console.print(f"Started the controller on http://{listen}/ (data in {data_dir}).")
    endpoint = local_endpoint(data_dir)
    keys = local_key(data_dir)
    transport = transport_for(endpoint, choose_trust(Overrides(), None, os.environ))
    client = ApiClient(endpoint, keys["AccessKeyId"], keys["AccessKeySecret"], transport=transport)
    instance_id = _local_agent(client, endpoint, data_dir, console)
    invoke_id = _first_command(client, instance_id, console)
    console.print("\nNext, try:")
    for line in (
        f"assistcli ecs RunCommand --Type RunShellScript --CommandContent 'uname -a' "
        f"--InstanceId.1 {instance_id}",
        f"assistcli ecs DescribeInvocationResults --InvokeId {invoke_id} "
        "--ContentEncoding PlainText",
        "assistcli controller stop",
    ):
        console.print(f"  {line}", highlight=False, soft_wrap=True)


def _local_agent(client: ApiClient, endpoint: str, data_dir: Path, console: Console) -> str:
    """Register this machine once, keep its agent running; returns its instance id."""
    state = data_dir / AGENT_DIR
    if not (state / "agent.json").exists():
        activation = client.call(
            "CreateActivation", {"InstanceCount": 1, "Description": "this machine (quickstart)"}
        )
        _register(endpoint, activation, state)
    instance_id = str(json.loads((state / "agent.json").read_text())["instance_id"])
    if local_agent_pid(data_dir) is None:
        start_local_agent(data_dir)
        console.print(f"Started the agent of this machine, instance {instance_id}.")
    _until(lambda: _connected(client, instance_id), f"the agent (see {state / 'agentd.log'})")
    return instance_id


def _register(endpoint: str, activation: dict[str, Any], state: Path) -> None:
    command = [sys.executable, "-m", "agentd", "register", "--server", f"http://{endpoint}"]
    command += ["--activation-id", activation["ActivationId"]]
    command += ["--activation-code", activation["ActivationCode"], "--state-dir", str(state)]
    command += ["--name", socket.gethostname()]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CliError(f"registering this machine failed: {done.stderr.strip()}")


def _connected(client: ApiClient, instance_id: str) -> bool:
    status = client.call("DescribeCloudAssistantStatus", {"InstanceId": [instance_id]})
    rows = status["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"]
    return bool(rows) and rows[0]["CloudAssistantStatus"] == "true"


def _until(ready: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while not (found := ready()):
        if time.monotonic() > deadline:
            raise CliError(f"timed out after {WAIT:.0f} s waiting for {what}")
        time.sleep(0.05)
    return found


def _first_command(client: ApiClient, instance_id: str, console: Console) -> str:
    from rich.table import Table

    script = base64.b64encode(b"echo 123").decode()
    created = client.call(
        "CreateCommand",
        {"Name": "quickstart", "Type": "RunShellScript", "CommandContent": script},
    )
    console.print(f"CreateCommand -> CommandId {created['CommandId']}")
    invoked = client.call(
        "InvokeCommand",
        {"CommandId": created["CommandId"], "InstanceId": [instance_id], "Timed": False},
    )
    invoke_id = str(invoked["InvokeId"])
    console.print(f"InvokeCommand -> InvokeId {invoke_id}")

    def finished() -> list[dict[str, Any]]:
        answer = client.call(
            "DescribeInvocationResults", {"InvokeId": invoke_id, "ContentEncoding": "PlainText"}
        )
        results = answer["Invocation"]["InvocationResults"]["InvocationResult"]
        return [] if any(not st.is_terminal(r["InvocationStatus"]) for r in results) else results

    table = Table("InstanceId", "InvocationStatus", "ExitCode", "Output", title=invoke_id)
    for result in _until(finished, f"{invoke_id} to finish"):
        table.add_row(
            result["InstanceId"],
            result["InvocationStatus"],
            str(result["ExitCode"]),
            result["Output"].rstrip("\n"),
        )
    console.print(table)
    return invoke_id
