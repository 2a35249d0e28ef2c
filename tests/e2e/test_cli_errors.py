"""Every CLI failure: a clear message on stderr, the documented exit code, never a traceback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests
import responses
from conftest import Controller, free_port
from test_cli_support import Cli, profile_for

pytest_plugins = ["test_cli_support"]  # the cli and cli_on fixtures


def failed(cli: Cli, code: int, *args: str) -> str:
    result = cli(*args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def test_an_unknown_action_or_product_suggests_the_right_one(cli_on: Cli) -> None:
    stderr = failed(cli_on, 2, "ecs", "InvokeComand", "--CommandId", "c")
    assert stderr.startswith("ERROR: 'InvokeComand' is not a valid api.")
    assert "Did you mean:\n  InvokeCommand" in stderr
    assert "Did you mean:\n  ecs" in failed(cli_on, 2, "ecz", "DescribeCommands")


def test_an_unknown_parameter_suggests_the_right_one(cli_on: Cli) -> None:
    stderr = failed(cli_on, 2, "ecs", "CreateCommand", "--Nmae", "x")
    assert "'--Nmae' is not a valid parameter or flag" in stderr and "  --Name" in stderr


@pytest.mark.parametrize(
    ("line", "meant"),
    [
        ("--outptu json ecs DescribeCommands", "--output"),
        ("ecs DescribeCommands --outptu json", "--output"),
        ("ecs DescribeCommands --cli-qeury x", "--cli-query"),
        ("configure list --outptu json", "--output"),
        ("controller serve --lisen 127.0.0.1:1", "--listen"),
    ],
)
def test_a_misspelled_flag_suggests_the_right_one(cli_on: Cli, line: str, meant: str) -> None:
    stderr = failed(cli_on, 2, *line.split())
    misspelled = next(word for word in line.split() if word.startswith("--"))
    assert misspelled in stderr.splitlines()[0]
    assert f"Did you mean:\n  {meant}\n" in stderr


def test_a_missing_required_parameter_is_named(cli_on: Cli) -> None:
    stderr = failed(cli_on, 3, "ecs", "InvokeCommand", "--InstanceId.1", "i-1")
    assert stderr == (
        "ERROR: required parameters not assigned:\n  --CommandId\n"
        "use `assistcli ecs InvokeCommand --help` to get more information\n"
    )


def test_a_server_error_prints_like_the_aliyun_cli(cli_on: Cli) -> None:
    lines = failed(cli_on, 1, "ecs", "DeleteCommand", "--CommandId", "c-missing").splitlines()
    assert lines[0] == "ERROR: SDK.ServerError"
    assert lines[1] == "ErrorCode: InvalidCmdId.NotFound"
    assert lines[2].startswith("Recommend: http://127.0.0.1:")
    assert lines[2].endswith("/docs/errors#InvalidCmdId.NotFound")
    assert lines[3].startswith("RequestId: ") and len(lines[3]) > len("RequestId: ")
    assert lines[4].startswith("Message: ")


def test_a_wrong_secret_is_an_api_error(cli: Cli, controller: Controller) -> None:
    flags = f"--endpoint {controller.endpoint} --access-key-id {controller.access_key_id}"
    stderr = failed(cli, 1, "ecs", "DescribeCommands", *flags.split(), "--access-key-secret", "x")
    assert "ErrorCode: SignatureDoesNotMatch" in stderr
    assert stderr.splitlines()[-1] == (
        f"The Access Key Secret of --access-key-secret is wrong for Access Key Id "
        f"***{controller.access_key_id[-3:]}: the controller at {controller.endpoint} signs "
        "with another one."
    )


def test_a_wrong_secret_names_where_it_came_from(
    cli: Cli, controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = profile_for(controller, "ops")
    wrong.access_key_secret = "not-it"
    cli.save_profile(wrong)
    stderr = failed(cli, 1, "ecs", "DescribeCommands")
    assert "The Access Key Secret of profile 'ops' is wrong for Access Key Id ***" in stderr
    wrong.access_key_secret = ""
    cli.save_profile(wrong)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-it-either")
    stderr = failed(cli, 1, "ecs", "DescribeCommands")
    assert "The Access Key Secret of $ALIBABA_CLOUD_ACCESS_KEY_SECRET is wrong" in stderr


def test_an_unknown_key_says_which_controller_lacks_it(cli: Cli, controller: Controller) -> None:
    flags = ["--endpoint", controller.endpoint, "--access-key-id", "LTAInope"]
    stderr = failed(cli, 1, "ecs", "DescribeCommands", *flags, "--access-key-secret", "x")
    assert "ErrorCode: InvalidAccessKeyId.NotFound" in stderr
    assert f"The controller at {controller.endpoint} has no Access Key Id ***ope" in stderr


def test_content_that_is_not_base64_hints_at_plain_text_and_fileb(cli_on: Cli) -> None:
    create = ["ecs", "CreateCommand", "--Name", "n", "--Type", "RunShellScript"]
    stderr = failed(cli_on, 1, *create, "--CommandContent", "echo hello")
    assert "ErrorCode: CmdContent.DecodeError" in stderr
    assert "--ContentEncoding PlainText" in stderr and "fileb://script.sh" in stderr
    cli_on.ok(*create, "--CommandContent", "echo hello", "--ContentEncoding", "PlainText")


def test_no_controller_says_how_to_start_one(cli_on: Cli) -> None:
    port = free_port()
    stderr = failed(cli_on, 5, "ecs", "DescribeCommands", "--endpoint", f"127.0.0.1:{port}")
    assert f"cannot reach the controller at http://127.0.0.1:{port}/" in stderr
    assert "Connection refused" in stderr and "assistcli controller start" in stderr


def test_nothing_configured_and_nothing_running_is_a_configuration_error(cli: Cli) -> None:
    stderr = failed(cli, 4, "ecs", "DescribeCommands")
    assert "no credentials configured" in stderr and "assistcli controller start" in stderr
    assert "profile 'nope' not found" in failed(cli, 4, "ecs", "DescribeCommands", "-p", "nope")


@pytest.fixture
def odd_server() -> Iterator[tuple[int, list[bytes]]]:
    """A socket that answers each connection with the next canned reply (b"" = silence)."""
    replies: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                reply = replies.pop(0) if replies else b""
                if reply:
                    connection.sendall(reply)
                else:
                    stop.wait(2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, replies
    stop.set()
    server.close()


def test_a_silent_server_times_out(cli_on: Cli, odd_server: tuple[int, list[bytes]]) -> None:
    port, _ = odd_server
    args = ["ecs", "DescribeCommands", "--endpoint", f"127.0.0.1:{port}", "--read-timeout", "0.3"]
    stderr = failed(cli_on, 5, *args)
    assert f"the controller at http://127.0.0.1:{port}/ did not answer within 0.3 s" in stderr
    assert "Wait longer with --read-timeout SECONDS" in stderr


def test_something_that_is_not_http(cli_on: Cli, odd_server: tuple[int, list[bytes]]) -> None:
    port, replies = odd_server
    replies.append(b"SSH-2.0-OpenSSH_9.2\r\n")
    stderr = failed(cli_on, 5, "ecs", "DescribeCommands", "--endpoint", f"127.0.0.1:{port}")
    assert "did not answer with HTTP" in stderr


def test_throttling_is_retried_for_reads(cli_on: Cli, odd_server: tuple[int, list[bytes]]) -> None:
    port, replies = odd_server
    body = b'{"Code":"Throttling","Message":"slow down","RequestId":"r"}'
    busy = b"HTTP/1.1 503 Busy\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    good = b'{"RequestId":"r","Commands":{"Command":[]},"TotalCount":0}'
    replies += [busy, busy, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + good]
    args = ["ecs", "DescribeCommands", "--endpoint", f"127.0.0.1:{port}"]
    assert "ErrorCode: Throttling" in failed(cli_on, 1, *args, "--retry-count", "1")
    replies[:] = [busy, b"HTTP/1.1 200 OK\r\n\r\n" + good]
    assert '"TotalCount": 0' in cli_on.ok(*args, "--retry-count", "2").stdout


@responses.activate
def test_timeouts_over_https_name_their_flag(cli_on: Cli) -> None:
    url = "https://assist.example.com/"
    responses.post(url, body=requests.exceptions.ReadTimeout("Read timed out."))
    stderr = failed(cli_on, 5, "ecs", "DescribeCommands", "--endpoint", url)
    assert f"the controller at {url} did not answer within 10 s" in stderr
    assert "--read-timeout SECONDS" in stderr
    responses.replace(responses.POST, url, body=requests.exceptions.ConnectTimeout("timed out"))
    args = ["--endpoint", url, "--connect-timeout", "2"]
    stderr = failed(cli_on, 5, "ecs", "DescribeCommands", *args)
    assert f"no connection to the controller at {url} within 2 s" in stderr
    assert "--connect-timeout SECONDS" in stderr


@responses.activate
def test_a_proxy_error_page_over_https(cli_on: Cli) -> None:
    # Behind TLS the CLI uses requests; a real controller never answers with HTML.
    responses.post("https://assist.example.com/", body="<html>bad gateway</html>", status=502)
    stderr = failed(
        cli_on, 5, "ecs", "DescribeCommands", "--endpoint", "https://assist.example.com"
    )
    assert "answered HTTP 502 without a JSON body" in stderr


@responses.activate
def test_https_server_errors_are_retried(cli_on: Cli) -> None:
    url = "https://assist.example.com/"
    responses.post(url, json={"Code": "ServiceUnavailable", "RequestId": "r"}, status=503)
    responses.post(url, json={"RequestId": "r", "TotalCount": 0}, status=200)
    args = ["ecs", "DescribeCommands", "--endpoint", url, "--retry-count", "3"]
    assert '"TotalCount": 0' in cli_on.ok(*args).stdout
    assert len(responses.calls) == 2


def test_bad_output_and_waiter_flags_are_usage_errors(cli_on: Cli) -> None:
    describe = ["ecs", "DescribeCommands"]
    assert "unknown output format" in failed(cli_on, 2, *describe, "-o", "xml")
    assert "needs expr" in failed(cli_on, 2, *describe, "--waiter", "to=x")
    both = ["--pager", "--waiter", "expr=a", "to=b"]
    assert "cannot be used together" in failed(cli_on, 2, *describe, *both)
    assert "jmespath" in failed(cli_on, 2, *describe, "--cli-query", "[[")
