"""A fleet across a network boundary: the controller on one host, each agent on another.

Hosts are network namespaces joined by veth pairs (tests/e2e/netlab.py): the controller serves
HTTPS on its veth address with a CA of its own, each agent is the one-file agent fetched from it
with curl and run by Python 3.8 in isolated mode, in its own namespace. API calls are made from
the controller's host, the only place its address is reached from. Where namespaces cannot be
made (not root, no `ip`), the tests say why and skip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from agent_helpers import TERMINAL
from conftest import run_cli, wait_for
from netlab import Host, NetLab
from old_python import bare_env
from tls_helpers import Pki, make_pki

pytestmark = pytest.mark.e2e

PORT = 8742
POLL_WAIT = 3  # seconds an agent's poll is held: the link cut below outlasts it
EXIT_UNTRUSTED_CA, EXIT_FINGERPRINT = 6, 8  # agentd register's exit codes (docs/agent.md)


class RemoteApi:
    """Signed API calls made from inside the controller's host (tests/e2e/ns_api.py)."""

    def __init__(self, lab: NetLab, url: str, key: dict[str, str], ca: Path) -> None:
        script = str(Path(__file__).with_name("ns_api.py"))
        argv = [sys.executable, script, url, key["AccessKeyId"], key["AccessKeySecret"], str(ca)]
        self.process = lab.popen(
            lab.hub, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def call(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin and stdout
        stdin.write(json.dumps({"action": action, "params": params or {}}) + "\n")
        stdin.flush()
        answer: dict[str, Any] = json.loads(stdout.readline())
        if "error" in answer:
            raise AssertionError(f"{action}: {answer['error']}: {answer['message']}")
        return answer["body"]  # type: ignore[no-any-return]

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@dataclass
class Machine:
    """An agent's host: its namespace, a home with the downloaded agent, a state directory."""

    host: Host
    home: Path
    instance_id: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def pyz(self) -> Path:
        return self.home / "agentd.pyz"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    def log(self) -> str:
        path = self.home / "agentd.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class Fleet:
    lab: NetLab
    pki: Pki  # its folder is the controller's data dir
    python: str  # Python 3.8
    machines: list[Machine] = field(default_factory=list)
    controller: subprocess.Popen[bytes] | None = None
    api: RemoteApi | None = None

    @property
    def url(self) -> str:
        return f"https://{self.lab.hub.address}:{PORT}"

    # The controller's host -----------------------------------------------------------------------
    def start_controller(self) -> None:
        argv = [sys.executable, "-m", "assistcli", "controller", "serve"]
        argv += ["--listen", f"{self.lab.hub.address}:{PORT}", "--data-dir", str(self.pki.folder)]
        with open(self.pki.folder / "controller.log", "ab") as log:
            self.controller = self.lab.popen(
                self.lab.hub, argv, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self.answers, what="the controller to answer on its veth address")

    def answers(self) -> bool:
        probe = ["curl", "-fsS", "--cacert", str(self.pki.ca), f"{self.url}/healthz"]
        return self.lab.run(self.lab.hub, probe, timeout=10).returncode == 0

    def kill_controller(self) -> None:
        assert self.controller
        self.controller.kill()
        self.controller.wait()

    def controller_log(self) -> str:
        return (self.pki.folder / "controller.log").read_text(errors="replace")

    def call(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.api
        return self.api.call(action, params)

    # Agents' hosts --------------------------------------------------------------------------------
    def agentd(self, machine: Machine, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [self.python, "-I", str(machine.pyz), *args]
        return self.lab.run(machine.host, argv, cwd=machine.home, env=bare_env(machine.home))

    def register(self, machine: Machine, *trust: str, state_dir: Path | None = None) -> Any:
        activation = self.call("CreateActivation", {"InstanceName": "web", "InstanceCount": 1})
        return self.agentd(
            machine,
            "register",
            "--server",
            self.url,
            "--activation-id",
            activation["ActivationId"],
            "--activation-code",
            activation["ActivationCode"],
            "--state-dir",
            str(state_dir or machine.state_dir),
            *trust,
        )

    def start_agent(self, machine: Machine) -> None:
        argv = [self.python, "-I", str(machine.pyz), "run", "--state-dir", str(machine.state_dir)]
        argv += ["--poll-wait", str(POLL_WAIT)]
        with open(machine.home / "agentd.log", "ab") as log:
            machine.process = self.lab.popen(
                machine.host,
                argv,
                cwd=machine.home,
                env=bare_env(machine.home),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: self.connected(machine), what=f"{machine.instance_id} to poll")

    def connected(self, machine: Machine) -> bool:
        body = self.call("DescribeCloudAssistantStatus", {"InstanceId": [machine.instance_id]})
        rows = body["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"]
        return bool(rows) and rows[0]["CloudAssistantStatus"] == "true"

    # Runs -----------------------------------------------------------------------------------------
    def run(self, script: str, *machines: Machine) -> str:
        body = self.call(
            "RunCommand",
            {
                "Type": "RunShellScript",
                "CommandContent": script,
                "ContentEncoding": "PlainText",
                "InstanceId": [machine.instance_id for machine in machines],
            },
        )
        return str(body["InvokeId"])

    def results(self, invoke_id: str) -> dict[str, dict[str, Any]]:
        body = self.call(
            "DescribeInvocationResults", {"InvokeId": invoke_id, "ContentEncoding": "PlainText"}
        )
        rows = body["Invocation"]["InvocationResults"]["InvocationResult"]
        return {row["InstanceId"]: row for row in rows}

    def wait_ended(self, invoke_id: str, timeout: float = 30) -> dict[str, dict[str, Any]]:
        def ended() -> dict[str, dict[str, Any]] | None:
            rows = self.results(invoke_id)
            done = all(row["InvocationStatus"] in TERMINAL for row in rows.values())
            return rows if done else None

        rows: dict[str, dict[str, Any]] = wait_for(ended, timeout, f"{invoke_id} to end")
        return rows


def outcomes(rows: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {iid: (row["InvocationStatus"], row["Output"]) for iid, row in rows.items()}


@pytest.fixture(scope="module")
def fleet(python38: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """A controller host and two agent hosts; one agent trusts the CA file, the other pins the
    CA's fingerprint."""
    with NetLab.create(hosts=2) as lab:
        pki = make_pki(tmp_path_factory.mktemp("controller"), lab.hub.address)
        fleet = Fleet(lab, pki, python38)
        fleet.start_controller()
        key = json.loads(
            run_cli("controller", "access-key", "create", "--data-dir", str(pki.folder))
        )
        fleet.api = RemoteApi(lab, fleet.url, key, pki.ca)
        trusts = [("--ca-file", str(pki.ca)), ("--ca-fingerprint", pki.fingerprint)]
        for host, trust in zip(lab.hosts, trusts, strict=True):
            machine = Machine(host, tmp_path_factory.mktemp("machine"))
            # What a new machine does first: fetch the agent from the controller.
            fetch = ["curl", "-fsS", "--cacert", str(pki.ca), "-o", str(machine.pyz)]
            fetched = lab.run(host, [*fetch, f"{fleet.url}/agent/v1/download/agentd.pyz"])
            assert fetched.returncode == 0, fetched.stderr
            registered = fleet.register(machine, *trust)
            assert registered.returncode == 0, registered.stderr
            machine.instance_id = registered.stdout.strip()
            fleet.start_agent(machine)
            fleet.machines.append(machine)
        try:
            yield fleet
        finally:
            fleet.api.close()
            assert "Traceback" not in fleet.controller_log()


def test_agents_on_other_hosts_run_a_command_over_https(fleet: Fleet) -> None:
    invoke_id = fleet.run("echo 123", *fleet.machines)
    rows = fleet.wait_ended(invoke_id)
    assert outcomes(rows) == {m.instance_id: ("Success", "123\n") for m in fleet.machines}
    for machine in fleet.machines:  # the one-file agent kept the CA it was given or pinned
        assert (machine.state_dir / "ca.pem").read_bytes() == fleet.pki.ca.read_bytes()


def test_a_wrong_ca_and_a_wrong_fingerprint_are_refused_with_their_exit_codes(
    fleet: Fleet, tmp_path_factory: pytest.TempPathFactory
) -> None:
    machine = fleet.machines[0]
    other = make_pki(tmp_path_factory.mktemp("other-ca"), fleet.lab.hub.address)
    state_dir = machine.home / "another-state"

    wrong_ca = fleet.register(machine, "--ca-file", str(other.ca), state_dir=state_dir)
    assert wrong_ca.returncode == EXIT_UNTRUSTED_CA, wrong_ca.stderr
    assert "not signed by the CA" in wrong_ca.stderr
    assert len(wrong_ca.stderr.strip().splitlines()) == 1, wrong_ca.stderr

    wrong_pin = fleet.register(machine, "--ca-fingerprint", other.fingerprint, state_dir=state_dir)
    assert wrong_pin.returncode == EXIT_FINGERPRINT, wrong_pin.stderr
    assert f"expected {other.fingerprint}" in wrong_pin.stderr
    assert len(wrong_pin.stderr.strip().splitlines()) == 1, wrong_pin.stderr
    assert not (state_dir / "agent.json").exists()


def test_agents_carry_on_after_the_controller_restarts(fleet: Fleet) -> None:
    fleet.kill_controller()
    fleet.start_controller()
    invoke_id = fleet.run("echo after restart", *fleet.machines)
    rows = fleet.wait_ended(invoke_id)
    expected = ("Success", "after restart\n")
    assert outcomes(rows) == {m.instance_id: expected for m in fleet.machines}


def test_a_network_cut_longer_than_a_poll_loses_nothing(fleet: Fleet) -> None:
    cut, other = fleet.machines
    # A run in flight when the cable is pulled: it ends while its host is cut off.
    in_flight = fleet.run("sleep 2; echo finished while cut off", cut)
    wait_for(
        lambda: fleet.results(in_flight)[cut.instance_id]["InvocationStatus"] == "Running",
        what="the run to start",
    )
    fleet.lab.cut(cut.host)
    seen = len(cut.log())  # what it logged before the cut
    try:
        # Work sent while the host is unreachable; its neighbour is not affected.
        sent_during = fleet.run("echo sent while cut off", cut)
        neighbour = fleet.wait_ended(fleet.run("echo unaffected", other))
        assert outcomes(neighbour) == {other.instance_id: ("Success", "unaffected\n")}
        # The run ends while its host is cut off, and a poll fails: the cut outlasts both.
        wait_for(lambda: f"task {in_flight}: Success" in cut.log(), what="the run to end")
        wait_for(
            lambda: "controller unreachable" in cut.log()[seen:],
            timeout=POLL_WAIT + 30,
            what="a poll to fail",
        )
        assert fleet.results(in_flight)[cut.instance_id]["InvocationStatus"] == "Running"
    finally:
        fleet.lab.restore(cut.host)
    for invoke_id, output in (
        (in_flight, "finished while cut off\n"),
        (sent_during, "sent while cut off\n"),
    ):
        row = fleet.wait_ended(invoke_id, 60)[cut.instance_id]
        assert (row["InvocationStatus"], row["Output"], row["Repeats"]) == ("Success", output, 1)
