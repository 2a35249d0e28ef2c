"""docs/fleet.md, run as written: its commands, on two hosts, from nothing to a first result.

Each host is a network namespace of the lab (tests/e2e/netlab.py) and a mount namespace whose
`/etc/systemd/system`, `/var/lib` and `/usr/local/lib` are empty file systems of its own, so the
guide's commands write where they say without touching this machine. The new machine has Python
3.8 as `python3`, curl and a `sudo` that runs the command (the tests run as root). The guide's
placeholders (KEY_ID, ACTIVATION_ID, ...) are filled with what the commands before them printed,
and its example address with the lab's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import wait_for
from netlab import Host, NetLab

pytestmark = pytest.mark.e2e

GUIDE = Path(__file__).parents[2] / "docs" / "fleet.md"
EXAMPLE_ADDRESS = "10.0.0.5"
OWN_FILE_SYSTEMS = ("/etc/systemd/system", "/var/lib", "/usr/local/lib")
# Commands the guide gives in its text rather than in a block.
SERVE_BY_HAND = "assistcli controller serve --data-dir /var/lib/assist --listen 10.0.0.5:8742"


@dataclass
class Block:
    where: str  # "controller" or "new machine"
    commands: list[str]


def guide_blocks(text: str) -> list[Block]:
    """The guide's shell blocks, each headed by `# on the controller` or `# on the new machine`."""
    blocks = []
    for body in re.findall(r"```sh\n(.*?)```", text, re.S):
        head, *lines = body.strip().splitlines()
        where = re.match(r"# on the (controller|new machine)", head)
        assert where, f"a block of {GUIDE.name} says where it runs: {head!r}"
        blocks.append(Block(where[1], [line for line in lines if not line.startswith("#")]))
    return blocks


class Box:
    """A host: the lab namespace's network, and file systems of its own where the guide writes.
    A sleeping process holds the mount namespace; commands join it with nsenter."""

    def __init__(self, lab: NetLab, host: Host, home: Path, path: str) -> None:
        mounts = " && ".join(f"mount -t tmpfs tmpfs {folder}" for folder in OWN_FILE_SYSTEMS)
        hold = ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
        hold.append(f"{mounts} && echo ready && exec sleep infinity")
        self.holder = lab.popen(host, hold, stdout=subprocess.PIPE)
        assert self.holder.stdout and self.holder.stdout.readline() == b"ready\n"
        self.env = {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8"}
        self.home = home

    def argv(self, command: str) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-m", "-n", "--", "bash", "-c", command]

    def run(self, command: str, stdin: str = "") -> str:
        done = subprocess.run(
            self.argv(command), input=stdin, env=self.env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, command: str, log: str) -> subprocess.Popen[bytes]:
        with open(self.home / log, "ab") as out:
            return subprocess.Popen(
                self.argv(command), env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait()


@pytest.fixture
def boxes(python38: str, tmp_path: Path) -> Iterator[tuple[NetLab, Box, Box]]:
    missing = [folder for folder in OWN_FILE_SYSTEMS if not os.path.isdir(folder)]
    if missing:
        pytest.skip(f"no {', '.join(missing)} here to mount an empty file system on")
    # The new machine's python3 is the agent's oldest Python; its sudo runs the command as root.
    tools = tmp_path / "machine-bin"
    tools.mkdir()
    (tools / "python3").symlink_to(python38)
    (tools / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (tools / "sudo").chmod(0o755)
    controller_path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    with NetLab.create(hosts=1) as lab:
        homes = [tmp_path / "controller-home", tmp_path / "machine-home"]
        for home in homes:
            home.mkdir()
        controller = Box(lab, lab.hub, homes[0], controller_path)
        machine = Box(lab, lab.hosts[0], homes[1], f"{tools}:/usr/bin:/bin")
        try:
            yield lab, controller, machine
        finally:
            machine.close()
            controller.close()


def test_the_fleet_guide_works_as_written(boxes: tuple[NetLab, Box, Box]) -> None:
    lab, controller, machine = boxes
    text = GUIDE.read_text()
    blocks = guide_blocks(text)
    where = [block.where for block in blocks]
    assert where == ["controller"] * 3 + ["new machine"] * 2 + ["controller"], where
    setup, credentials, activation, install_line, start_agent, first_result = blocks
    values = {EXAMPLE_ADDRESS: lab.hub.address}

    def fill(command: str) -> str:
        for placeholder, value in values.items():
            command = command.replace(placeholder, value)
        return command

    # 1. The controller: certificate, service (started by hand: systemd does not run here), key.
    for command in setup.commands:
        controller.run(fill(command))
    unit = controller.run("cat /etc/systemd/system/assist-controller.service")
    assert SERVE_BY_HAND in text
    assert fill(f"/{SERVE_BY_HAND}") in unit  # ExecStart=/.../assistcli controller serve ...
    controller.start(fill(SERVE_BY_HAND), "controller.log")
    health = f"curl -fsS --cacert /var/lib/assist/tls/ca.pem https://{lab.hub.address}:8742/healthz"
    wait_for(lambda: _ok(controller, health), what="the controller to serve HTTPS")

    create_key, configure = credentials.commands
    key = json.loads(controller.run(create_key))
    values["KEY_ID"] = key["AccessKeyId"]
    controller.run(fill(configure), stdin=key["AccessKeySecret"] + "\n")

    # 2. An activation, and the line that installs an agent.
    create_activation, print_line = activation.commands
    made = json.loads(controller.run(create_activation))
    values.update(ACTIVATION_ID=made["ActivationId"], ACTIVATION_CODE=made["ActivationCode"])
    line = controller.run(fill(print_line)).strip()
    values["PIN"] = re.search(r"sha256//([A-Za-z0-9+/=]+)", line)[1]  # type: ignore[index]
    values["FINGERPRINT"] = re.search(r"sha256:([0-9a-f]{64})", line)[1]  # type: ignore[index]
    assert [fill(command) for command in install_line.commands] == [line]

    # On the new machine: the printed line, then the agent started by hand.
    installed = machine.run(line)
    instance_id = re.search(r"^mi-\w+$", installed, re.M)
    assert instance_id, installed
    values["INSTANCE_ID"] = instance_id[0]
    (run_agent,) = start_agent.commands
    # What install says to run where systemd does not: the guide's command, this Python's path.
    assert f"{run_agent.removeprefix('python3')}\n" in installed, installed
    machine.start(run_agent, "agentd.log")

    # 3. A first result.
    list_instances, run_command, show_results = first_result.commands
    wait_for(
        lambda: re.search(
            rf"{values['INSTANCE_ID']}\s.*\btrue\b", controller.run(fill(list_instances))
        ),
        what="the new machine to be listed as connected",
    )
    values["INVOKE_ID"] = json.loads(controller.run(fill(run_command)))["InvokeId"]
    shown = wait_for(
        lambda: _if_has(controller.run(fill(show_results)), "Success"), what="the first result"
    )
    assert re.search(rf"{values['INSTANCE_ID']}\s+.*Success\s+.*123", shown), shown
    example = re.search(r"```text\n(.*?)```", text, re.S)
    assert example and _shape(example[1]) == _shape(shown), shown


def _ok(box: Box, command: str) -> bool:
    try:
        box.run(command)
    except AssertionError:
        return False
    return True


def _if_has(text: str, word: str) -> str:
    return text if word in text else ""


def _shape(table: str) -> list[str]:
    """A table with its instance ids blanked: what any run prints alike."""
    return re.sub(r"mi-\w+", "mi-", table).split()
