"""An agent given several controllers (`--server` repeated) moves to the next when the one it
talks to cannot be reached, with real agent and controller processes on loopback."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pgtest
import pytest
from agent_helpers import run_and_wait, run_script, wait_status
from conftest import Agent, Controller, StartController, create_activation, free_port, wait_for

pytestmark = pytest.mark.e2e


def register(
    servers: list[str], ctl: Controller, state_dir: Path
) -> subprocess.CompletedProcess[str]:
    """`agentd register` with one `--server` per URL, by an activation of `ctl`."""
    activation_id, code = create_activation(ctl, InstanceName="failover", InstanceCount=1)
    argv = [sys.executable, "-m", "agentd", "register", "--state-dir", str(state_dir)]
    for server in servers:
        argv += ["--server", server]
    argv += ["--activation-id", activation_id, "--activation-code", code]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def test_an_unreachable_first_server_is_passed_over_at_registration_and_run(
    controller: Controller, agents: list[Agent], tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/"  # nothing listens: connections are refused
    done = register([dead, controller.url], controller, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"trying {controller.url}" in done.stderr and "Connection refused" in done.stderr
    kept = json.loads((tmp_path / "agent.json").read_text())
    assert kept["servers"] == [dead, controller.url]
    agent = Agent(controller, tmp_path, done.stdout.strip())
    agents.append(agent)
    began = time.monotonic()
    agent.start()  # returns once the agent polls the live controller
    assert time.monotonic() - began < 5, "the first move is made at once, without backing off"
    row = run_and_wait(controller, agent.instance_id, "echo via the second", timeout=5)
    assert (row["InvocationStatus"], row["Output"]) == ("Success", "via the second\n")
    assert f"moving from {dead} to {controller.url}" in agent.log(), agent.log()
    assert "retrying in" not in agent.log(), "no backoff while a server is left to try"


class Pair(NamedTuple):
    first: Controller
    second: Controller
    take_over: Callable[[], None]  # called just before the first dies: the second can serve


@pytest.fixture(params=["postgresql", "sqlite-snapshot"])
def pair(
    request: pytest.FixtureRequest,
    start_controller: StartController,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pair]:
    """Two controllers of one fleet: on one PostgreSQL store, as deployed; or, where there is no
    PostgreSQL to reach, the second on a snapshot of the first's SQLite store taken just before
    the first dies, which is what a shared store would show it then."""
    if request.param == "postgresql":
        store = pgtest.schema_url(request.node.nodeid + str(time.monotonic()))
        yield Pair(start_controller(store=store), start_controller(store=store), lambda: None)
        return
    if pgtest.postgres_mode():
        pytest.skip("copies the controller's SQLite file; its store is PostgreSQL here")
    first = start_controller()
    second = Controller(tmp_path_factory.mktemp("second"), free_port())
    second.access_key_id, second.access_key_secret = first.access_key_id, first.access_key_secret

    def take_over() -> None:
        live = sqlite3.connect(first.data_dir / "assist.db")
        copy = sqlite3.connect(second.data_dir / "assist.db")
        try:
            live.backup(copy)
        finally:
            live.close()
            copy.close()
        second.start()

    yield Pair(first, second, take_over)
    second.kill()


def test_a_run_goes_on_and_ends_through_the_next_server_when_its_controller_dies(
    pair: Pair, agents: list[Agent], tmp_path: Path
) -> None:
    first, second = pair.first, pair.second
    state_dir = tmp_path / "agent"
    done = register([first.url, second.url], first, state_dir)
    assert done.returncode == 0, done.stderr
    agent = Agent(first, state_dir, done.stdout.strip())
    agents.append(agent)
    agent.start()
    gate, runs = tmp_path / "gate", tmp_path / "runs"
    script = f"echo run >> {runs}; while [ ! -e {gate} ]; do sleep 0.02; done; echo finished"
    invoke_id = run_script(first, agent.instance_id, script)
    wait_status(first, invoke_id, {"Running"}, timeout=5)
    try:
        pair.take_over()
        first.kill()  # kill -9, while the agent holds a poll open on it
        wait_for(lambda: f"moving from {first.url} to {second.url}" in agent.log(), 5, "a move")
        gate.touch()
        row = wait_status(second, invoke_id, timeout=5)
        assert (row["InvocationStatus"], row["Output"]) == ("Success", "finished\n"), row
        assert runs.read_text() == "run\n", "the run is not started again"
        again = run_and_wait(second, agent.instance_id, "echo next", timeout=5)
        assert (again["InvocationStatus"], again["Output"]) == ("Success", "next\n")
        assert agent.running() and agent.log().count("moving from") == 1, agent.log()
    finally:
        gate.touch()
