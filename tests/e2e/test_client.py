"""The project's own API client against a real controller, and its failure modes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import responses
from conftest import Controller, free_port

from assistcli.client import ApiClient, TransportError
from assistcli.errors import ApiError


def client_for(ctl: Controller, secret: str | None = None) -> ApiClient:
    return ApiClient(ctl.endpoint, ctl.access_key_id, secret or ctl.access_key_secret)


def test_a_call_round_trips(controller: Controller) -> None:
    client = client_for(controller)
    created = client.call(
        "CreateCommand",
        {"Name": "client-rt", "Type": "RunShellScript", "CommandContent": "ZWNobyAxMjM="},
    )
    found = client.call("DescribeCommands", {"CommandId": created["CommandId"]})
    assert found["Commands"]["Command"][0]["Name"] == "client-rt"


def test_an_error_body_raises_api_error(controller: Controller) -> None:
    with pytest.raises(ApiError) as caught:
        client_for(controller).call("DeleteCommand", {"CommandId": "c-missing"})
    assert (caught.value.code, caught.value.status) == ("InvalidCmdId.NotFound", 404)
    assert caught.value.request_id


def test_a_wrong_secret_is_refused(controller: Controller) -> None:
    with pytest.raises(ApiError) as caught:
        client_for(controller, secret="wrong").call("DescribeCommands")
    assert caught.value.code == "SignatureDoesNotMatch"


def test_nothing_listening_is_a_transport_error() -> None:
    client = ApiClient(f"127.0.0.1:{free_port()}", "ak", "secret", timeout=2)
    with pytest.raises(TransportError, match="cannot reach the controller"):
        client.call("DescribeCommands")


@responses.activate
def test_a_non_json_answer_is_a_transport_error() -> None:
    # A proxy's HTML error page: a real controller never answers like this.
    responses.post("http://127.0.0.1:9/", body="<html>bad gateway</html>", status=502)
    with pytest.raises(TransportError, match="HTTP 502"):
        ApiClient("127.0.0.1:9", "ak", "secret").call("DescribeCommands")


def test_quickstart_runs_a_first_command_on_this_machine(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "ASSIST_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "assistcli", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=90, env=env)

    try:
        first = cli("quickstart", "--listen", f"127.0.0.1:{free_port()}")
        assert first.returncode == 0, first.stderr
        assert "Success" in first.stdout and "123" in first.stdout
        assert "assistcli controller stop" in first.stdout  # the next steps
        assert oct((tmp_path / "local-key.json").stat().st_mode & 0o777) == "0o600"
        again = cli("quickstart")  # reuses the running controller and agent
        assert again.returncode == 0, again.stderr
        assert "Started" not in again.stdout and "Success" in again.stdout
        status = cli("ecs", "DescribeCloudAssistantStatus")  # nothing configured: the local one
        assert status.returncode == 0 and '"CloudAssistantStatus": "true"' in status.stdout
    finally:
        stopped = cli("controller", "stop")
    assert "Local agent stopped." in stopped.stdout
