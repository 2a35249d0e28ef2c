"""The project's own API client against a real controller, and its failure modes."""

from __future__ import annotations

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


def test_quickstart_runs_a_first_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistcli",
            "quickstart",
            "--data-dir",
            str(tmp_path),
            "--listen",
            f"127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Pending" in done.stdout
    assert "'echo 123'" in done.stdout
    assert oct((tmp_path / "local-key.json").stat().st_mode & 0o777) == "0o600"
