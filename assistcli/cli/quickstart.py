"""`assistcli quickstart`: an embedded controller, this machine as an instance, a first command."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assistcli.cli.controller import DATA_DIR, parse_listen, with_store

if TYPE_CHECKING:
    from rich.console import Console

    from assistcli.client import ApiClient

LOCAL_KEY_FILE = "local-key.json"


def local_key(data_dir: Path) -> dict[str, str]:
    """The key the local CLI signs with, created on first use and kept 0600 in the data dir."""
    path = data_dir / LOCAL_KEY_FILE
    if path.exists():
        keys: dict[str, str] = json.loads(path.read_text())
        return keys
    import secrets

    keys = {
        "AccessKeyId": "LTAI" + secrets.token_hex(10),
        "AccessKeySecret": secrets.token_urlsafe(24),
    }
    with_store(
        data_dir,
        lambda store: store.add_access_key(
            keys["AccessKeyId"], keys["AccessKeySecret"], time.time()
        ),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle)
    return keys


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def start_controller(host: str, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    log = (data_dir / "controller.log").open("ab")
    command = [sys.executable, "-m", "assistcli", "controller", "serve"]
    command += ["--listen", f"{host}:{port}", "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 20
    while not listening(host, port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise click.ClickException(
                f"the controller did not start; see {data_dir}/controller.log"
            )
        time.sleep(0.05)
    return process


@click.command()
@DATA_DIR
@click.option("--listen", default="127.0.0.1:8742", show_default=True, help="Controller address.")
def quickstart(data_dir: Path, listen: str) -> None:
    """Start a local controller, register this machine and run `echo 123` through the API."""
    from rich.console import Console

    from assistcli.client import ApiClient
    from assistcli.controller.ids import new_id
    from assistcli.controller.models import Instance

    console = Console()
    host, port = parse_listen(listen)
    if listening(host, port):
        raise click.ClickException(f"{listen} is already in use; pick another with --listen")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = local_key(data_dir)
    process = start_controller(host, port, data_dir)
    try:
        console.print(f"[bold]Controller[/] serving http://{listen}/ (data in {data_dir})")
        this_machine = Instance(
            instance_id=new_id("mi-"),
            instance_name=socket.gethostname(),
            registration_time=time.time(),
        )
        with_store(data_dir, lambda store: store.add_instance(this_machine))
        client = ApiClient(listen, keys["AccessKeyId"], keys["AccessKeySecret"])
        _first_command(client, this_machine.instance_id, console)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _first_command(client: ApiClient, instance_id: str, console: Console) -> None:
    from rich.table import Table

    script = base64.b64encode(b"echo 123").decode()
    created = client.call(
        "CreateCommand",
        {"Name": "quickstart", "Type": "RunShellScript", "CommandContent": script},
    )
    command_id = created["CommandId"]
    console.print(f"CreateCommand  -> CommandId {command_id}")
    invoked = client.call(
        "InvokeCommand", {"CommandId": command_id, "InstanceId": [instance_id], "Timed": False}
    )
    console.print(f"InvokeCommand  -> InvokeId {invoked['InvokeId']}")
    found = client.call("DescribeInvocations", {"InvokeId": invoked["InvokeId"]})
    table = Table("InvokeId", "CommandName", "InstanceId", "InvocationStatus", "CreationTime")
    for invocation in found["Invocations"]["Invocation"]:
        for target in invocation["InvokeInstances"]["InvokeInstance"]:
            table.add_row(
                invocation["InvokeId"],
                invocation["CommandName"],
                target["InstanceId"],
                target["InvocationStatus"],
                target["CreationTime"],
            )
    console.print(table)
    listed = client.call(
        "DescribeCommands", {"CommandId": command_id, "ContentEncoding": "PlainText"}
    )
    content = listed["Commands"]["Command"][0]["CommandContent"]
    console.print(f"DescribeCommands -> {command_id}: {content!r}")
