"""The one-file agent, as a new machine gets it: downloaded from a real controller without
credentials, then run by Python 3.8 in isolated mode (`-I`) from an empty directory, with no
PYTHONPATH and a home of its own, so nothing but the archive can supply a module.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from agent_helpers import run_and_wait
from conftest import Agent, Controller, StartController, create_activation, wait_for
from old_python import Machine, bare_env, find_python
from tls_helpers import make_pki, start_https_controller

from agentd import __version__
from assistcli.controller import agent_package

pytestmark = pytest.mark.e2e

DOWNLOAD = "agent/v1/download/agentd.pyz"


@pytest.fixture
def machine(python38: str, tmp_path: Path) -> Machine:
    home = tmp_path / "home"
    home.mkdir()
    return Machine(python38, home)


def download(url: str, folder: Path, verify: str | bool = True) -> Path:
    """GET the agent with no credentials, check its checksum header, save it as agentd.pyz."""
    answer = requests.get(f"{url}{DOWNLOAD}", timeout=30, verify=verify)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/zip"
    assert 'filename="agentd.pyz"' in answer.headers["Content-Disposition"]
    digest = hashlib.sha256(answer.content).hexdigest()
    assert answer.headers["X-Checksum-Sha256"] == digest
    assert answer.headers["ETag"] == f'"{digest}"'
    path = folder / "agentd.pyz"
    path.write_bytes(answer.content)
    return path


@dataclass
class PyzAgent(Agent):
    """`python3.8 -I agentd.pyz run`, on the bare machine."""

    machine: Machine | None = None
    pyz: Path | None = None

    def start(self) -> None:
        assert self.machine and self.pyz
        log = open(self.state_dir / "agentd.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            self.machine.agentd(self.pyz, "run", "--state-dir", str(self.state_dir)),
            cwd=self.machine.home,
            env=bare_env(self.machine.home),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for(self.connected, what=f"agent {self.instance_id} to poll")


@pytest.fixture
def pyz_agents() -> Iterator[list[PyzAgent]]:
    started: list[PyzAgent] = []
    yield started
    for agent in started:
        agent.kill()


def test_the_controller_serves_the_agent_it_was_built_with(
    controller: Controller, tmp_path: Path
) -> None:
    assert download(controller.url, tmp_path).read_bytes() == agent_package.build()


def test_the_agent_downloads_over_https_too(
    start_controller: StartController, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    ctl = start_https_controller(start_controller, pki)
    pyz = download(ctl.url, tmp_path, verify=str(pki.ca))
    assert pyz.read_bytes() == agent_package.build()


@pytest.mark.parametrize("version", ["3.6", "3.7"])
def test_an_older_python_is_told_the_agent_needs_3_8(version: str, tmp_path: Path) -> None:
    python = find_python(version, tmp_path)
    if python is None:
        pytest.skip(f"no Python {version} here")
    pyz = tmp_path / "agentd.pyz"
    agent_package.write(pyz)
    done = Machine(python, tmp_path).run(str(pyz), "--version")
    assert (done.returncode, done.stderr) == (
        1,
        f"agentd needs Python 3.8 or newer; this is Python {version}\n",
    )


def test_python38_in_isolated_mode_runs_the_agent_alone(machine: Machine, tmp_path: Path) -> None:
    pyz = tmp_path / "agentd.pyz"
    agent_package.write(pyz)
    # Outside the archive, this Python knows no module of ours: the archive must bring them all.
    assert machine.run("-c", "import agentd").returncode != 0
    assert machine.run("-c", "import assistcli").returncode != 0
    done = machine.run(str(pyz), "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"agentd {__version__}"
    assert list(machine.home.iterdir()) == []  # nothing written beside it, no cache


def test_a_downloaded_agent_registers_and_runs_a_command_on_python38(
    controller: Controller, machine: Machine, tmp_path: Path, pyz_agents: list[PyzAgent]
) -> None:
    pyz = download(controller.url, tmp_path)
    state_dir = tmp_path / "state"
    activation_id, code = create_activation(controller, InstanceName="pyz", InstanceCount=1)
    registered = machine.run(
        str(pyz),
        "register",
        "--server",
        controller.url,
        "--activation-id",
        activation_id,
        "--activation-code",
        code,
        "--state-dir",
        str(state_dir),
    )
    assert registered.returncode == 0, registered.stderr
    instance_id = registered.stdout.strip()
    assert instance_id.startswith("mi-")

    agent = PyzAgent(controller, state_dir, instance_id, machine=machine, pyz=pyz)
    pyz_agents.append(agent)
    agent.start()
    row = run_and_wait(controller, instance_id, "echo 123")
    assert (row["InvocationStatus"], row["Output"]) == ("Success", "123\n"), agent.log()
    assert agent.stop() == 0, agent.log()
