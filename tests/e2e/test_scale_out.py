"""Several controllers on one PostgreSQL: any of them serves any agent and any client, wakes
agents held by the others at once, and shares what one learns (docs/scale-out.md)."""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pgtest
import psycopg
import pytest
from agent_helpers import result, run_script, wait_status
from conftest import (
    Controller,
    StartAgent,
    StartController,
    api,
    create_activation,
    free_port,
    run_cli,
    wait_for,
)
from tcp_relay import Relay, relay

from assistcli.controller.store.schema import migrations
from assistcli.errors import ApiError

pytestmark = pytest.mark.e2e

Pair = tuple[Controller, Controller]


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL schema of this test's own."""
    return pgtest.schema_url(request.node.nodeid + str(time.monotonic()))


@pytest.fixture
def pair(start_controller: StartController, store: str) -> Pair:
    return start_controller(store=store), start_controller(store=store)


def wake_up_delays(
    held_by: Controller, via: Controller, instance_id: str, runs: int
) -> list[float]:
    """Seconds from creating `echo N` through `via` to its run leaving Pending, for N < runs;
    each run is seen to end Success with its output, through both controllers."""
    delays = []
    for n in range(runs):
        created = time.monotonic()
        invoke_id = run_script(via, instance_id, f"echo {n}")
        wait_status(via, invoke_id, {"Running", "Success"})
        delays.append(time.monotonic() - created)
        row = wait_status(held_by, invoke_id, {"Success"})  # reported to the one holding it
        assert row["Output"] == f"{n}\n"
        assert result(via, invoke_id)["Output"] == f"{n}\n"
    return delays


def test_work_created_through_one_controller_wakes_an_agent_held_by_another(
    pair: Pair, start_agent: StartAgent
) -> None:
    a, b = pair
    agent = start_agent(a)  # its long poll is held by A
    delays = wake_up_delays(a, b, agent.instance_id, 5)
    # Without a wake-up, A would find the work by asking the store, once a second.
    assert statistics.median(delays) < 0.4, delays


def test_a_deregistration_through_one_controller_ends_the_agent_another_holds(
    pair: Pair, start_agent: StartAgent
) -> None:
    a, b = pair
    agent = start_agent(a, "--poll-wait", "1")
    api(b).call("DeregisterManagedInstance", {"InstanceId": agent.instance_id})
    assert agent.process is not None
    assert agent.process.wait(timeout=20) == 3  # refused by A, which B told
    assert "refused" in agent.log()


def test_the_admin_commands_work_on_the_shared_store(pair: Pair) -> None:
    a, b = pair
    listed = json.loads(run_cli("controller", "access-key", "list", "-o", "json", *a.store_args))
    ids = {row["AccessKeyId"] for row in listed["AccessKeys"]}
    assert {a.access_key_id, b.access_key_id} <= ids
    api(b).call("DescribeCommands", {})
    run_cli("controller", "access-key", "disable", b.access_key_id, *a.store_args)
    with pytest.raises(ApiError) as refused:  # by B at once, though disabled through A's store
        api(b).call("DescribeCommands", {})
    assert refused.value.code == "InvalidAccessKeyId.Inactive"


def test_controllers_started_at_once_apply_each_migration_once(store: str, tmp_path: Path) -> None:
    ports = [free_port() for _ in range(3)]

    def serving(port: int) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "assistcli", "controller", "serve", "--store", store]
        argv += ["--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / str(port))]
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    started = [serving(port) for port in ports]
    try:
        for port, process in zip(ports, started, strict=True):
            wait_for(lambda p=port: listening(p), timeout=30, what=f"a controller on {port}")
            assert process.poll() is None
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=10)
    with psycopg.connect(store) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
    assert sorted(versions) == [v for v, _ in migrations("postgresql")]


def listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def broker_backends(store: str) -> list[int]:
    """The PostgreSQL backends listening for news of the controllers on this store (schema)."""
    with psycopg.connect(store, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND query = 'LISTEN \"assist_news:' || current_schema() || '\"'"
        )
        return [row[0] for row in rows]


def test_wake_ups_come_back_after_the_database_drops_the_listening_connections(
    pair: Pair, start_agent: StartAgent, store: str
) -> None:
    a, b = pair
    agent = start_agent(a)
    listening = wait_for(lambda: len(broker_backends(store)) == 2 and broker_backends(store))
    with psycopg.connect(store, autocommit=True) as conn:
        for pid in listening:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # Meanwhile a wake-up may be lost: the store's news query finds the work within a second.
    invoke_id = run_script(b, agent.instance_id, "echo meanwhile")
    assert wait_status(a, invoke_id, {"Success"})["Output"] == "meanwhile\n"
    wait_for(lambda: len(set(broker_backends(store)) - set(listening)) == 2, what="listening again")
    delays = wake_up_delays(a, b, agent.instance_id, 3)
    assert statistics.median(delays) < 0.4, delays


@contextlib.contextmanager
def relayed(store: str) -> Iterator[tuple[Relay, str]]:
    """A relay to the store's database, and the store's URL through it."""
    parts = urllib.parse.urlsplit(store)
    with relay((parts.hostname or "127.0.0.1", parts.port or 5432)) as link:
        yield link, parts._replace(netloc=f"{parts.username}@127.0.0.1:{link.port}").geturl()


def test_a_database_gone_away_answers_503_and_loses_nothing(
    start_controller: StartController, start_agent: StartAgent, store: str, tmp_path: Path
) -> None:
    with relayed(store) as (link, through):
        ctl = start_controller(store=through)
        agent = start_agent(ctl)
        ran = tmp_path / "ran"
        invoke_id = run_script(ctl, agent.instance_id, f"sleep 1; echo x >> {ran}; echo done")
        wait_status(ctl, invoke_id, {"Running"})
        link.cut()
        with pytest.raises(ApiError) as down:
            api(ctl).call("DescribeInvocations", {"InvokeId": invoke_id})
        assert (down.value.code, down.value.status) == ("ServiceUnavailable", 503)
        wait_for(ran.exists, what="the script to end while the database is away")
        outbox = agent.state_dir / "outbox"
        wait_for(lambda: any(outbox.iterdir()), what="its result to wait in the agent's outbox")
        link.restore()
        row = wait_status(ctl, invoke_id, {"Success"}, timeout=60)
        assert row["Output"] == "done\n"
        assert ran.read_text() == "x\n"  # run once
        agent.kill()
        ctl.stop()  # while its database is still reachable through the relay


def test_a_request_of_alibabas_agent_replayed_to_another_controller_is_refused(
    start_controller: StartController, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from official_agent_client import OfficialAgent
    from tls_helpers import make_pki

    pki = make_pki(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))  # the test's API calls trust it
    tls = ("--tls-cert", str(pki.cert), "--tls-key", str(pki.key))
    a, b = (start_controller(*tls, store=store) for _ in range(2))
    agent = OfficialAgent(a.url.rstrip("/"), pki.ca)
    assert agent.register(*create_activation(a, InstanceCount=1)).status_code == 200
    used = agent.signed_headers()
    assert agent.request("GET", "/luban/api/heart-beat", headers=used).status_code == 200
    agent.base = b.url.rstrip("/")  # the same signed headers, sent to the other controller
    replayed = agent.request("GET", "/luban/api/heart-beat", headers=used)
    assert (replayed.status_code, replayed.json()["errCode"]) == (401, "Agent.ReplayedRequest")
    assert agent.heart_beat().status_code == 200  # a fresh signature is accepted there


def test_alibabas_agent_is_answered_503_while_the_database_is_away(
    start_controller: StartController, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from official_agent_client import OfficialAgent
    from tls_helpers import make_pki

    pki = make_pki(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))
    with relayed(store) as (link, through):
        tls = ("--tls-cert", str(pki.cert), "--tls-key", str(pki.key))
        ctl = start_controller(*tls, store=through)
        agent = OfficialAgent(ctl.url.rstrip("/"), pki.ca)
        assert agent.register(*create_activation(ctl, InstanceCount=1)).status_code == 200
        link.cut()
        away = agent.heart_beat()
        assert (away.status_code, away.json()["errCode"]) == (503, "ServiceUnavailable")
        link.restore()
        wait_for(lambda: agent.heart_beat().status_code == 200, what="the database to be back")
        ctl.stop()  # while its database is reachable
