"""Talks to the controller's agent API over one keep-alive connection per thread."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from assistcli.api import agent as proto

# How a connection the server closed while it was idle fails when it is used again.
STALE = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)


class ControllerUnreachable(Exception):
    """No answer, or a server error: try again later."""


class Refused(Exception):
    """The controller refused the request for good (bad credentials, unknown activation...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


class ControllerClient:
    def __init__(self, server: str, instance_id: str = "", secret: str = "") -> None:
        url = urlsplit(server if "://" in server else f"http://{server}")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not a controller URL: {server!r}")
        self.server = server
        self._scheme, self._host, self._port = url.scheme, url.hostname, url.port
        self._instance_id, self._secret = instance_id, secret
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._connection is None:
            if self._scheme == "https":
                self._connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=timeout
                )
            else:
                self._connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=timeout
                )
        self._connection.timeout = timeout
        if self._connection.sock is not None:
            self._connection.sock.settimeout(timeout)
        return self._connection

    def close(self) -> None:
        """Drop the connection; also unblocks a poll waiting in another thread."""
        connection, self._connection = self._connection, None
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
        if connection is not None:
            connection.close()

    def post(self, path: str, body: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self._instance_id:
            headers[proto.INSTANCE_HEADER] = self._instance_id
            headers["Authorization"] = f"Bearer {self._secret}"
        data = json.dumps(body).encode()
        reused = self._connection is not None and self._connection.sock is not None
        try:
            status, payload = self._exchange(path, data, headers, timeout)
        except STALE as error:
            self.close()
            if not reused:
                raise ControllerUnreachable(f"{self.server}: {error}") from error
            # The server closed the kept-alive connection while it was idle; agent requests
            # are safe to repeat (reports are applied once, a task is never run twice), so
            # once more on a new connection, without a word.
            try:
                status, payload = self._exchange(path, data, headers, timeout)
            except (OSError, http.client.HTTPException) as again:
                self.close()
                raise ControllerUnreachable(f"{self.server}: {again}") from again
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise ControllerUnreachable(f"{self.server}: {error}") from error
        return self._answer(status, payload)

    def _exchange(
        self, path: str, data: bytes, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes]:
        connection = self._connect(timeout)
        connection.request("POST", path, data, headers)
        response = connection.getresponse()
        return response.status, response.read()

    def _answer(self, status: int, payload: bytes) -> dict[str, Any]:
        try:
            body = json.loads(payload)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ControllerUnreachable(f"{self.server} answered HTTP {status} without JSON")
        if status >= 500:
            raise ControllerUnreachable(f"{self.server}: HTTP {status} {body.get('Code', '')}")
        if status >= 400:
            raise Refused(status, str(body.get("Code", "")), str(body.get("Message", "")))
        return body

    def register(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.post(proto.REGISTER, request)

    def poll(self, body: dict[str, Any], wait: float) -> dict[str, Any]:
        return self.post(proto.POLL, {**body, "wait": wait}, timeout=wait + 15)

    def report(self, reports: list[proto.Report]) -> dict[str, Any]:
        return self.post(proto.REPORT, {"reports": [r.to_wire() for r in reports]})
