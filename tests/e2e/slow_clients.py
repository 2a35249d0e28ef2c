"""Clients that take the controller's connections and are slow to send: raw sockets, bounded in
count and time. `hold_trickling` is shared by the e2e limits tests and the fault suite."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def closed_by_peer(sock: socket.socket) -> bool:
    """True once the server closed the connection (EOF or reset); False while it is open."""
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@dataclass
class Trickled:
    open_after: int  # still open when the wait ended
    seconds: float  # from the first connection to the last one closed (or the end of the wait)


def hold_trickling(port: int, count: int, every: float, wait: float) -> Trickled:
    """Open `count` connections, each sending its request head a byte every `every` seconds
    (never finishing it); return once the controller closed them all, or after `wait` s."""
    started = time.monotonic()
    socks = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.setblocking(False)
            sock.send(b"GET /healthz HTTP/1.1\r\n")
            socks.append(sock)
        waiting = set(socks)
        while waiting and time.monotonic() - started < wait:
            for sock in list(waiting):
                if closed_by_peer(sock):
                    waiting.discard(sock)
                    continue
                with contextlib.suppress(BlockingIOError, OSError):
                    sock.send(b"X")
            time.sleep(every)
        return Trickled(len(waiting), time.monotonic() - started)
    finally:
        for sock in socks:
            sock.close()
