"""agentd's list of controllers (`--server` repeated): which one it talks to, when it moves on,
and when it backs off; what registration keeps of them."""

from __future__ import annotations

import argparse
import json
import logging
import socket
import time
from pathlib import Path

import pytest
from conftest import free_port

from agentd import client, registration
from agentd.cli import parser
from agentd.client import ControllerUnreachable, Untrusted
from agentd.config import Identity
from agentd.servers import Servers, unique

A, B, C = "http://127.0.0.1:1/", "http://127.0.0.2:2/", "http://127.0.0.3:3/"
REFUSED = ControllerUnreachable(f"{A}: [Errno 111] Connection refused")


def test_each_server_is_kept_once_in_the_order_given() -> None:
    assert unique([A, B, A.rstrip("/"), " " + C, B]) == (A, B, C)
    with pytest.raises(ValueError):
        Servers([])


def test_a_single_server_backs_off_at_each_failure_and_stays() -> None:
    servers = Servers([A])
    assert servers.failed(A, REFUSED) and servers.failed(A, REFUSED)
    assert servers.current == A


def test_the_first_move_is_at_once_and_a_round_of_failures_backs_off() -> None:
    moves: list[str] = []
    servers = Servers([A, B, C], on_move=moves.append)
    assert servers.current == A
    assert not servers.failed(A, REFUSED)  # B is tried at once
    assert not servers.failed(B, REFUSED)  # and C
    assert servers.failed(C, REFUSED)  # all three failed in a row: back off, then A
    assert moves == [B, C, A] and servers.current == A
    assert not servers.failed(A, REFUSED)  # a new round: B at once again
    assert servers.current == B


def test_an_answer_ends_the_failures_in_a_row() -> None:
    servers = Servers([A, B])
    assert not servers.failed(A, REFUSED)
    servers.answered(B)
    assert not servers.failed(B, REFUSED)  # a fresh failure: A at once, no backoff
    assert servers.current == A


def test_a_failure_of_a_server_left_already_moves_nothing() -> None:
    """The poller and the reporter share the list: the second to see A fail goes to B."""
    servers = Servers([A, B])
    assert not servers.failed(A, REFUSED)
    assert not servers.failed(A, REFUSED)  # try B at once
    assert servers.current == B
    servers.answered(A)  # a late answer from A changes nothing either
    assert servers.failed(B, REFUSED) and servers.current == A


@pytest.mark.parametrize(
    ("error", "moves"),
    [
        (ControllerUnreachable(f"{A}: timed out"), True),
        (Untrusted("the certificate of the controller at ... is not signed by ..."), True),
        (ControllerUnreachable(f"{A}: HTTP 502 ", 502), True),
        (ControllerUnreachable(f"{A} answered HTTP 503 without JSON", 503), True),
        (ControllerUnreachable(f"{A}: HTTP 504 ", 504), True),
        (ControllerUnreachable(f"{A}: HTTP 500 InternalError", 500), False),
    ],
)
def test_what_is_worth_moving_for(error: ControllerUnreachable, moves: bool) -> None:
    servers = Servers([A, B])
    backs_off = servers.failed(A, error)
    assert servers.current == (B if moves else A)
    assert backs_off is not moves


def test_a_move_is_told_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    servers = Servers([A, B])
    with caplog.at_level(logging.INFO, logger="agentd"):
        servers.failed(A, REFUSED)
        servers.failed(B, ControllerUnreachable(f"{B}: [Errno 104] Connection reset by peer"))
    first, second = caplog.records
    assert first.getMessage() == f"moving from {A} to {B}: [Errno 111] Connection refused"
    assert first.levelno == logging.WARNING
    assert second.levelno == logging.INFO  # the outage goes on: moving back and forth is routine


def test_the_state_keeps_every_server_and_old_state_files_still_load(tmp_path: Path) -> None:
    Identity((A, B), "mi-1", "web-1", "s3cret").save(tmp_path)
    kept = json.loads((tmp_path / "agent.json").read_text())
    assert kept["servers"] == [A, B] and kept["server"] == A  # an older agentd reads "server"
    assert Identity.load(tmp_path) == Identity((A, B), "mi-1", "web-1", "s3cret")
    (tmp_path / "agent.json").write_text(
        json.dumps({"server": A, "instance_id": "mi-1", "instance_name": "web-1"})
    )
    assert Identity.load(tmp_path).servers == (A,)


@pytest.mark.parametrize("command", ["register", "install"])
def test_server_may_be_repeated(command: str) -> None:
    servers = ["--server", A, "--server", B, "--server", A]
    args = parser().parse_args(
        [command, *servers, "--activation-id", "a", "--activation-code", "c"]
    )
    assert registration.Request.from_args(args, force=False).servers == (A, B)
    one = argparse.Namespace(**{**vars(args), "server": C})  # as a caller of old may pass it
    assert registration.Request.from_args(one, force=False).servers == (C,)


def test_registration_tries_each_server_in_turn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = (f"http://127.0.0.1:{free_port()}/" for _ in range(2))  # both refuse
    request = registration.Request((first, second), "act", "code")
    assert registration.register(request, tmp_path) == 4  # the last one's exit code
    tried_first, tried_second = capsys.readouterr().err.splitlines()
    assert tried_first.startswith(f"agentd: cannot reach the controller: {first}")
    assert tried_first.endswith(f"Connection refused; trying {second}")
    assert tried_second.startswith(f"agentd: cannot reach the controller: {second}")
    assert "trying" not in tried_second
    assert not (tmp_path / "agent.json").exists()


def test_a_ca_option_needs_every_server_to_be_https(tmp_path: Path) -> None:
    request = registration.Request(
        ("https://127.0.0.1:1/", A), "act", "code", ca_fingerprint="sha256:" + "0" * 64
    )
    with pytest.raises(ValueError, match="need an https:// controller URL"):
        registration.register(request, tmp_path)
    with pytest.raises(ValueError, match="not a controller URL"):
        registration.register(registration.Request((A, "ftp://x"), "act", "code"), tmp_path)


def test_a_controller_that_never_answers_the_connection_is_left_within_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host gone without a word drops the connection's packets: the long poll's own timeout
    (ten minutes and more) must not keep the agent from trying the next server."""
    monkeypatch.setattr(client, "CONNECT_TIMEOUT", 0.2)
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        url = f"http://127.0.0.1:{full.getsockname()[1]}/"
        queued = [socket.create_connection(full.getsockname())]
        try:  # the accept queue is full: more connection requests go unanswered
            began = time.monotonic()
            with pytest.raises(ControllerUnreachable) as error:
                client.ControllerClient(url, "mi-1", "secret").poll({}, 600)
            assert time.monotonic() - began < 3
        finally:
            for sock in queued:
                sock.close()
    servers = Servers([url, B])
    assert not servers.failed(url, error.value) and servers.current == B


def test_registration_does_not_move_on_for_a_server_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 500 comes from the store every controller of the fleet shares: the next would answer
    the same, or register the machine a second time if the first one took it."""
    import http.server
    import threading

    class Failing(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b'{"Code": "InternalError", "Message": "The store failed."}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing) as failing:
        threading.Thread(target=failing.serve_forever, daemon=True).start()
        first = f"http://127.0.0.1:{failing.server_address[1]}/"
        request = registration.Request((first, f"http://127.0.0.1:{free_port()}/"), "a", "c")
        try:
            assert registration.register(request, tmp_path) != 0
        finally:
            failing.shutdown()
    [told] = capsys.readouterr().err.splitlines()
    assert "trying" not in told, told


def test_a_poll_held_when_the_agent_moves_on_is_not_sent_again_to_the_server_it_left() -> None:
    """The server keeps the poll (it answers nothing yet): a move ends it, and the client does
    not take the dropped connection for one the server closed while idle and repeat it there."""
    import threading

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        accepted: list[socket.socket] = []

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                accepted.append(conn)  # read nothing, answer nothing: a held poll
                if len(accepted) == 1:  # a first answer, so that the next poll reuses it
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

        threading.Thread(target=serve, daemon=True).start()
        polling = client.ControllerClient(url, "mi-1", "secret")
        assert polling.poll({}, 0) == {}
        threading.Timer(0.3, polling.interrupt).start()
        began = time.monotonic()
        with pytest.raises(ControllerUnreachable):
            polling.poll({}, 5)
        assert time.monotonic() - began < 3
        assert len(accepted) == 1, "sent again to the server it left"
        for conn in accepted:
            conn.close()
