"""Alibaba's own agent served by a real controller over HTTPS, spoken by a client of our own
that signs and reports as the agent does (official_agent_client.py), its shapes checked
against the recorded exchanges."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from agent_helpers import result, results, run_script
from conftest import Controller, StartController, api, create_activation, wait_for
from official_agent_client import OfficialAgent, file_signature, fixture
from tls_helpers import Pki, make_pki, start_https_controller

from assistcli.controller.luban import signature


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def ctl(start_controller: StartController, pki: Pki) -> Controller:
    return start_https_controller(start_controller, pki)


@pytest.fixture(autouse=True)
def trust(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))


@pytest.fixture
def agent(ctl: Controller, pki: Pki) -> Iterator[OfficialAgent]:
    client = OfficialAgent(ctl.url.rstrip("/"), pki.ca)
    activation_id, code = create_activation(ctl, InstanceCount=1)
    resp = client.register(activation_id, code)
    assert resp.status_code == 200, resp.text
    yield client


def keys(entry: dict[str, Any]) -> dict[str, Any]:
    """The shape of a task list entry: its keys, nested."""
    return {k: keys(v) if isinstance(v, dict) else type(v).__name__ for k, v in entry.items()}


def test_the_recorded_signatures_verify() -> None:
    vectors = fixture("signature-vectors")
    pem = vectors["registration"]["publicKeyPem"]
    machine_id = vectors["registration"]["machineId"]
    for vector in vectors["vectors"]:
        signed = (vector["x-acs-instance-id"], machine_id, vector["x-acs-timestamp"])
        ok = signature.valid(pem, vector["x-acs-signature"], *signed, vector["x-acs-request-id"])
        assert ok is vector["valid"], vector


def test_register_answers_as_the_agent_reads_it(ctl: Controller, pki: Pki) -> None:
    client = OfficialAgent(ctl.url.rstrip("/"), pki.ca)
    activation_id, code = create_activation(ctl, InstanceCount=1)
    refused = client.register(activation_id, "wrong-code")
    assert refused.status_code >= 400 and refused.json()["errCode"] == "Activation.InvalidCode"
    resp = client.register(activation_id, code)
    body = resp.json()
    assert body["code"] == 200 and body["instanceId"].startswith("mi-")  # a number, not "200"
    assert set(body) == set(fixture("01")["answer"]["json"])
    again = OfficialAgent(client.base, pki.ca).register(activation_id, code)
    assert again.json()["errCode"] == "Activation.InstanceCountExceeded"
    found = api(ctl).call("DescribeManagedInstances", {"InstanceId": [client.instance_id]})
    [shown] = found["Instances"]
    assert shown["AgentVersion"] == "2.2.3.578" and shown["MachineId"] == client.machine_id


def test_signatures_are_checked(agent: OfficialAgent) -> None:
    assert agent.heart_beat().status_code == 200
    forged = agent.signed_headers()
    forged["X-Acs-Signature"] = base64.b64encode(b"\0" * 256).decode()
    bad = agent.request("GET", "/luban/api/heart-beat", "index=1", headers=forged)
    assert (bad.status_code, bad.json()["errCode"]) == (401, "Agent.InvalidSignature")
    used = agent.signed_headers()
    assert agent.request("GET", "/luban/api/heart-beat", headers=used).status_code == 200
    replayed = agent.request("GET", "/luban/api/heart-beat", headers=used)
    assert (replayed.status_code, replayed.json()["errCode"]) == (401, "Agent.ReplayedRequest")
    agent.clock_offset_ms = -3600_000
    late = agent.heart_beat()
    assert (late.status_code, late.json()["errCode"]) == (401, "Agent.InvalidTimestamp")
    agent.clock_offset_ms = 0
    agent.instance_id, real = "mi-unknown", agent.instance_id
    assert agent.heart_beat().json()["errCode"] == "Agent.NotRegistered"
    agent.instance_id = real


def test_heartbeat_shows_the_agent_connected(ctl: Controller, agent: OfficialAgent) -> None:
    resp = agent.heart_beat(first=True)
    assert 55000 <= resp.json()["nextInterval"] <= 65000
    status = api(ctl).call("DescribeCloudAssistantStatus", {"InstanceId": [agent.instance_id]})
    [row] = status["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"]
    assert row["CloudAssistantStatus"] == "true"


def test_stubs_keep_the_agent_idle(agent: OfficialAgent) -> None:
    update = agent.post("/luban/api/v1/update/update_check", body="{}").json()
    assert update["need_update"] == 0 and set(update) == set(fixture("02")["answer"]["json"])
    states = agent.post("/luban/api/instance/list_instance_state_configurations", body="{}")
    assert states.json()["errCode"] == "ServiceNotSupported"
    assert agent.post("/luban/api/metrics", body="{}").json()["code"] == 200
    assert agent.post("/luban/api/v1/exception/client_report", body="{}").json()["code"] == 200
    assert agent.post("/luban/api/v1/plugin/list", body="{}").json()["pluginList"] == []
    assert agent.post("/luban/api/gshell", signed=False).json()["gshellSupport"] == "false"
    assert agent.request("GET", "/luban/api/connection_detect", signed=False).text == "ok"


def run_entry(agent: OfficialAgent, invoke_id: str, reason: str = "kickoff") -> dict[str, Any]:
    listed = agent.task_list(reason)
    [entry] = [e for e in listed["run"] if e["task"]["taskID"] == invoke_id]
    return entry


def test_run_command_runs_once_and_shows_as_agentds(ctl: Controller, agent: OfficialAgent) -> None:
    invoke_id = run_script(ctl, agent.instance_id, "echo 123")
    listed = agent.task_list()
    assert set(listed) == set(fixture("11")["answer"]["json"])
    [entry] = listed["run"]
    assert keys(entry) == keys(fixture("11")["answer"]["json"]["run"][0])
    assert entry["repeat"] == "Once" and entry["task"]["timeOut"] == "60"
    assert base64.b64decode(entry["task"]["commandContent"]) == b"echo 123"
    start = int(time.time() * 1000)
    query = f"taskId={invoke_id}&invokeVersion={entry['task']['invokeVersion']}&start={start}"
    agent.report("running", query)
    assert result(ctl, invoke_id)["InvocationStatus"] == "Running"
    ending = f"{query}&end={start + 20}&exitCode=0&dropped=0"
    for _ in range(2):  # retried: applied once
        agent.report("finish", ending, b"123\n")
    row = result(ctl, invoke_id, "Base64")
    assert (row["InvocationStatus"], row["ExitCode"], row["Output"]) == ("Success", 0, "MTIzCg==")
    assert agent.task_list()["run"] == []


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("finish", "exitCode=3", ("Failed", 3, "ExitCodeNonzero")),
        ("timeout", "exitCode=137", ("Timeout", 137, "ExecutionTimeout")),
        ("error", "exitCode=0&errCode=-7&errDesc=no%20shell", ("Error", 0, "ExecutionException")),
        ("invalid", "param=workingDirectory&value=/nope", ("Invalid", 0, "DirectoryNotExists")),
    ],
)
def test_endings(
    ctl: Controller, agent: OfficialAgent, kind: str, extra: str, expected: tuple[Any, ...]
) -> None:
    invoke_id = run_script(ctl, agent.instance_id, "exit 3")
    run_entry(agent, invoke_id)
    start = int(time.time() * 1000)
    query = f"taskId={invoke_id}&invokeVersion=1&start={start}&end={start + 5}&dropped=7&{extra}"
    agent.report(kind, query, b"tail")
    row = result(ctl, invoke_id)
    assert (row["InvocationStatus"], row.get("ExitCode"), row["ErrorCode"]) == expected


def test_a_handed_out_task_refused_as_already_run_keeps_its_result(
    ctl: Controller, agent: OfficialAgent
) -> None:
    invoke_id = run_script(ctl, agent.instance_id, "echo once")
    run_entry(agent, invoke_id)
    query = f"taskId={invoke_id}&invokeVersion=1&start=0&end=0&exitCode=0&dropped=0"
    agent.report("error", f"{query}&errCode=-9&errDesc=ScriptFileExisted")
    assert result(ctl, invoke_id)["InvocationStatus"] == "Pending"


def test_stop_lists_the_task_and_ends_it_terminated(ctl: Controller, agent: OfficialAgent) -> None:
    invoke_id = run_script(ctl, agent.instance_id, "sleep 60")
    run_entry(agent, invoke_id)
    start = int(time.time() * 1000)
    agent.report("running", f"taskId={invoke_id}&invokeVersion=1&start={start}")
    api(ctl).call("StopInvocation", {"InvokeId": invoke_id})
    [stop] = agent.task_list()["stop"]
    assert keys(stop) == keys(fixture("19")["answer"]["json"]["stop"][0])
    assert stop["task"]["taskID"] == invoke_id
    stopped = f"taskId={invoke_id}&invokeVersion=1&start={start}&end={start + 9}&exitcode=143"
    agent.report("stopped", f"{stopped}&dropped=0&result=killed")
    assert result(ctl, invoke_id)["InvocationStatus"] == "Terminated"


def test_periodic_tasks_run_on_the_agents_schedule(ctl: Controller, agent: OfficialAgent) -> None:
    invoke_id = run_script(
        ctl, agent.instance_id, "echo tick", RepeatMode="Period", Frequency="rate(5m)"
    )
    entry = run_entry(agent, invoke_id)
    assert keys(entry) == keys(fixture("41")["answer"]["json"]["run"][0])
    assert (entry["repeat"], entry["task"]["cron"]) == ("Rate", "rate(5m)")
    # After a restart of the agent, its startup fetch lists the schedule again.
    assert run_entry(agent, invoke_id, "startup") == entry
    version = entry["task"]["invokeVersion"]
    for start in (1_000_000, 2_000_000):
        query = f"taskId={invoke_id}&invokeVersion={version}&start={start}"
        agent.report("running", query)
        for _ in range(2):
            agent.report("finish", f"{query}&end={start + 5}&exitCode=0&dropped=0", b"tick\n")
    history = api(ctl).call(
        "DescribeInvocationResults", {"InvokeId": invoke_id, "IncludeHistory": "true"}
    )["Invocation"]["InvocationResults"]["InvocationResult"]
    assert [r["InvocationStatus"] for r in history] == ["Success", "Success"]
    assert result(ctl, invoke_id)["InvocationStatus"] == "Scheduled"
    api(ctl).call("StopInvocation", {"InvokeId": invoke_id})
    listed = agent.task_list()
    assert invoke_id in [s["task"]["taskID"] for s in listed["stop"]]
    assert invoke_id not in [r["task"]["taskID"] for r in listed["run"]]


@pytest.mark.sqlite_only
def test_the_controllers_fires_for_the_agents_schedules_are_not_logged_as_skipped(
    ctl: Controller, agent: OfficialAgent
) -> None:
    moment = datetime.fromtimestamp(time.time() + 3, UTC)
    invoke_id = run_script(
        ctl,
        agent.instance_id,
        "echo at",
        RepeatMode="Period",
        Frequency=f"at({moment:%Y-%m-%d %H:%M:%S} UTC)",
    )
    entry = run_entry(agent, invoke_id)
    assert (entry["repeat"], entry["task"]["cron"]) == ("At", f"at({moment:%Y-%m-%dT%H:%M:%S})")
    # The agent runs it on its own clock; the controller's fire only notes the moment. It was
    # logged as "skipped 1 fires: ... 1 while the previous run was still going".
    wait_for(lambda: fires(ctl, invoke_id) == ["agent"], timeout=15)
    assert "skipped" not in ctl.log()


def fires(ctl: Controller, invoke_id: str) -> list[str]:
    """What the controller's scheduler did at each moment of the record."""
    with contextlib.closing(sqlite3.connect(ctl.data_dir / "assist.db")) as db:
        rows = db.execute("SELECT outcome FROM fires WHERE invoke_id = ?", (invoke_id,))
        return [outcome for (outcome,) in rows]


def test_send_file(ctl: Controller, agent: OfficialAgent) -> None:
    params = {"Name": "hello.txt", "TargetDir": "/tmp/x", "Content": "hello file\n"}
    body = api(ctl).call("SendFile", {"InstanceId": [agent.instance_id], **params})
    invoke_id = body["InvokeId"]
    [entry] = agent.task_list()["file"]
    assert keys(entry) == keys(fixture("22")["answer"]["json"]["file"][0])
    task = entry["task"]
    assert base64.b64decode(task["content"]) == b"hello file\n"
    assert task["signature"] == file_signature(task["content"])
    agent.report("finish", f"taskId={invoke_id}&status=Success&taskType=sendfile&errorcode=0")
    sent = api(ctl).call("DescribeSendFileResults", {"InvokeId": invoke_id})
    [inv] = sent["Invocations"]["Invocation"]
    [row] = inv["InvokeInstances"]["InvokeInstance"]
    assert row["InvocationStatus"] == "Success"


def test_the_websocket_kicks_the_agent_when_work_arrives(
    ctl: Controller, agent: OfficialAgent
) -> None:
    with agent.notify_socket() as ws:
        invoke_id = run_script(ctl, agent.instance_id, "echo kicked")
        assert ws.recv(timeout=5) == "kick_vm"
        ws.send("accept:kick_vm")
        run_entry(agent, invoke_id)


def test_a_kick_the_agent_answered_does_not_delay_the_next(
    ctl: Controller, agent: OfficialAgent
) -> None:
    with agent.notify_socket() as ws:
        for text in ("echo one", "echo two", "echo three"):
            sent = time.monotonic()
            invoke_id = run_script(ctl, agent.instance_id, text)
            assert ws.recv(timeout=5) == "kick_vm"
            assert time.monotonic() - sent < 1.0  # was held 2 s after the previous kick
            ws.send("accept:kick_vm")
            run_entry(agent, invoke_id)
        # A kick not answered by a fetch yet holds back the next, which is most often the same.
        kicked = time.monotonic()
        run_script(ctl, agent.instance_id, "echo four")
        assert ws.recv(timeout=5) == "kick_vm"
        run_script(ctl, agent.instance_id, "echo five")
        assert ws.recv(timeout=5) == "kick_vm"
        assert time.monotonic() - kicked >= 1.5


def test_news_heard_before_the_fetch_that_answers_a_kick_is_taken_by_it(
    ctl: Controller, agent: OfficialAgent
) -> None:
    """News between a kick and the fetch answering it is in that fetch: no second kick follows
    it, and work created after that fetch is kicked at once (a late second kick, sent when the
    hold-back ended, held back the next real one for up to 2 s)."""
    with agent.notify_socket() as ws:
        first = run_script(ctl, agent.instance_id, "echo one")
        assert ws.recv(timeout=5) == "kick_vm"
        second = run_script(ctl, agent.instance_id, "echo two")  # news while the kick is unanswered
        ws.send("accept:kick_vm")
        listed = {e["task"]["taskID"] for e in agent.task_list("kickoff")["run"]}
        assert listed == {first, second}
        sent = time.monotonic()
        third = run_script(ctl, agent.instance_id, "echo three")
        assert ws.recv(timeout=5) == "kick_vm"
        assert time.monotonic() - sent < 1.0
        run_entry(agent, third)
        with pytest.raises(TimeoutError):  # nothing more to say
            ws.recv(timeout=1.5)


def test_a_controller_stops_at_once_with_the_agent_connected(
    start_controller: StartController, pki: Pki
) -> None:
    """The agent answers the close of its WebSocket, but not the TLS close that follows (it
    closes its side some 5 s later, after retrying reads): the controller does not wait for it,
    so that a restart is over before the agent tries to reconnect (6 s after the close), and it
    is not left unreachable by kicks for 30 minutes."""
    ctl = start_https_controller(start_controller, pki)
    client = OfficialAgent(ctl.url.rstrip("/"), pki.ca)
    activation_id, code = create_activation(ctl, InstanceCount=1)
    assert client.register(activation_id, code).status_code == 200
    host, port = "127.0.0.1", ctl.port
    raw = socket.create_connection((host, port), timeout=5)
    tls = client.ssl_context().wrap_socket(raw, server_hostname=host)
    handshake = [
        "GET /luban/notify_server HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in client.signed_headers().items()),
    ]
    tls.sendall(("\r\n".join(handshake) + "\r\n\r\n").encode())
    assert tls.recv(4096).startswith(b"HTTP/1.1 101")
    try:  # then, like the agent, never closes its side of TLS
        began = time.monotonic()
        ctl.stop()
        assert time.monotonic() - began < 2.0  # it took 3.5 s and more
    finally:
        tls.close()


def test_a_modified_schedule_reaches_the_agent_at_once(
    ctl: Controller, agent: OfficialAgent
) -> None:
    invoke_id = run_script(
        ctl, agent.instance_id, "echo tick", RepeatMode="Period", Frequency="rate(5m)"
    )
    with agent.notify_socket() as ws:
        held = run_entry(agent, invoke_id, "startup")
        api(ctl).call("ModifyInvocationAttribute", {"InvokeId": invoke_id, "Frequency": "rate(7m)"})
        assert ws.recv(timeout=5) == "kick_vm"  # the agent holds the old schedule: it was not told
        entry = run_entry(agent, invoke_id)
    assert entry["task"]["cron"] == "rate(7m)"
    assert entry["task"]["invokeVersion"] != held["task"]["invokeVersion"]  # replaces the old


def test_deregistering_tells_the_agent_to_forget_its_identity(
    ctl: Controller, agent: OfficialAgent
) -> None:
    """Else it keeps its keys and runs the periodic tasks it holds until it restarts, its
    reports refused."""
    from websockets.exceptions import ConnectionClosed

    with agent.notify_socket() as ws:
        recorded = fixture("60")
        frame, reply = (f["data"] for f in recorded["frames"])
        api(ctl).call("DeregisterManagedInstance", {"InstanceId": agent.instance_id})
        assert ws.recv(timeout=5) == frame
        # Before it answers, the agent asks to deregister, signed with the key it registered.
        done = agent.post("/luban/api/instance/deregister").json()
        assert set(done) == set(recorded["answer"]["json"]) and done["code"] == 200
        ws.send(reply)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert agent.heart_beat().json()["errCode"] == "Agent.NotRegistered"
    again = agent.post("/luban/api/instance/deregister")  # only once
    assert (again.status_code, again.json()["errCode"]) == (401, "Agent.NotRegistered")


def test_an_unsigned_websocket_is_refused(agent: OfficialAgent) -> None:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus), agent.notify_socket(signed=False):
        pass


def test_both_kinds_of_agent_in_one_fleet(ctl: Controller, agent: OfficialAgent) -> None:
    invoke_id = run_script(ctl, agent.instance_id, "echo 123")
    run_entry(agent, invoke_id)
    assert json.dumps(results(ctl, invoke_id))  # the API shows the record as any other
    wait_for(lambda: agent.post("/luban/api/instance/deregister").json()["code"] == 200)
    assert agent.heart_beat().status_code == 401
