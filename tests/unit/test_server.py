"""The controller's HTTP server settings that need no running server."""

from __future__ import annotations

import socket

import pytest

from assistcli.controller.server import find_dead_peers, is_loopback


@pytest.mark.skipif(not hasattr(socket, "TCP_USER_TIMEOUT"), reason="Linux socket options")
def test_connections_are_set_to_drop_vanished_peers() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        with client, accepted:
            find_dead_peers(accepted)
            read = accepted.getsockopt
            assert read(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert read(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60
            assert read(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 10
            assert read(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
            assert read(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 60_000


def test_unix_sockets_are_left_alone() -> None:
    left, right = socket.socketpair()
    with left, right:
        find_dead_peers(left)  # no TCP options on a Unix socket: nothing set, nothing raised
        assert left.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("controller.example", False),
    ],
)
def test_only_loopback_listeners_may_serve_plain_http_quietly(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
