"""Talks to the controller's agent API over one keep-alive connection per thread.

An https:// controller is checked against the CA the agent keeps (see agentd.trust), else
against the system's trust store, host name included. What goes wrong on the way is told in
one line, with what to do about it: a certificate no trusted CA signed, one issued for another
name, TLS spoken to a plain-HTTP port and the other way round.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from assistcli.api import agent as proto

# How a connection the server closed while it was idle fails when it is used again.
STALE = (
    BrokenPipeError,
    ConnectionResetError,
    http.client.RemoteDisconnected,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)
# Seconds to connect (and shake hands over TLS) before the controller counts as unreachable.
CONNECT_TIMEOUT = 10.0
# OpenSSL's verify codes for a certificate no trusted CA signed (others: expired, revoked...).
NOT_SIGNED = frozenset({2, 18, 19, 20, 21})
# ... and for one issued for another host name or IP address.
WRONG_NAME = frozenset({62, 64})


class TrustedCA(NamedTuple):
    pem: str  # the CA certificate(s), PEM
    source: str  # what they are, for messages: "the CA in FILE", "the CA pinned by ..."


class ControllerUnreachable(Exception):
    """No answer, or a server error: try again later."""

    exit_code = 4

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status of a server error; 0: no answer at all


class Untrusted(ControllerUnreachable):
    """The controller's certificate does not check out against the CA the agent trusts."""

    exit_code = 6


class WrongHost(ControllerUnreachable):
    """The controller's certificate was issued for another host name or address."""

    exit_code = 7


class SpeaksPlainHttp(ControllerUnreachable):
    """An https:// URL names a port that serves plain HTTP."""

    exit_code = 9


class ClosedWithoutAnswer(ControllerUnreachable):
    """An http:// URL got its connection closed unanswered, as a port serving HTTPS does."""

    exit_code = 10


class Refused(Exception):
    """The controller refused the request for good (bad credentials, unknown activation...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


def tls_context(ca: TrustedCA | None) -> ssl.SSLContext:
    """Verifies the server and its host name against `ca`, or the system's CAs when None.

    :raises ValueError: when `ca` holds no certificate."""
    if ca is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cadata=ca.pem)
    except ssl.SSLError as error:
        raise ValueError(f"{ca.source}: no PEM certificate ({error.reason})") from None


def unverified_context() -> ssl.SSLContext:
    """For what is checked otherwise (the CA pinned by its fingerprint), and nothing else."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class ControllerClient:
    def __init__(
        self,
        server: str,
        instance_id: str = "",
        secret: str = "",
        ca: TrustedCA | None = None,
        context: ssl.SSLContext | None = None,
    ) -> None:
        url = urlsplit(server if "://" in server else f"http://{server}")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not a controller URL: {server!r}")
        self.server = server
        self._scheme, self._host, self._port = url.scheme, url.hostname, url.port
        self._base, self._netloc = f"{url.scheme}://{url.netloc}", url.netloc
        self._instance_id, self._secret = instance_id, secret
        self._ca = ca
        self._context: ssl.SSLContext | None = None
        if url.scheme == "https":
            self._context = context or tls_context(ca)
        self._connection: http.client.HTTPConnection | None = None
        # Once the server has answered, the scheme is right: later failures get no hint on it.
        self._answered = False
        self._interrupted = False  # see interrupt()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._connection is None:
            if self._context is not None:
                self._connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=timeout, context=self._context
                )
            else:
                self._connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=timeout
                )
        if self._connection.sock is None:
            # A controller that is gone without a word (its host down, packets dropped) is told
            # within seconds, not after a long poll's timeout: the agent may try another.
            self._connection.timeout = min(timeout, CONNECT_TIMEOUT)
            self._connection.connect()  # and the TLS handshake
        self._connection.timeout = timeout
        if self._connection.sock is not None:
            self._connection.sock.settimeout(timeout)
        return self._connection

    def interrupt(self) -> None:
        """Drop the connection for good, from another thread: a request waiting on it fails
        (it is not sent again, as after a server closed an idle connection), and so does any
        later one. The agent has moved on to another controller."""
        self._interrupted = True
        self.close()

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
        status, payload = self._send("POST", path, json.dumps(body).encode(), headers, timeout)
        return self._answer(status, payload)

    def get(self, path: str, timeout: float = 30.0) -> bytes:
        """The body of a public resource; an error answer raises as `post` does."""
        status, payload = self._send("GET", path, None, {}, timeout)
        if status != 200:
            self._answer(status, payload)
            raise ControllerUnreachable(f"{self._base}{path} answered HTTP {status}", status)
        return payload

    def _send(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes]:
        if self._interrupted:
            raise ControllerUnreachable(f"{self._base}: left for another controller")
        reused = self._connection is not None and self._connection.sock is not None
        try:
            return self._exchange(method, path, data, headers, timeout)
        except STALE as error:
            self.close()
            if not reused or self._interrupted:
                raise self._explain(error) from error
            # The server closed the kept-alive connection while it was idle; agent requests
            # are safe to repeat (reports are applied once, a task is never run twice), so
            # once more on a new connection, without a word.
            try:
                return self._exchange(method, path, data, headers, timeout)
            except (OSError, http.client.HTTPException) as again:
                self.close()
                raise self._explain(again) from again
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise self._explain(error) from error

    def _exchange(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes]:
        connection = self._connect(timeout)
        connection.request(method, path, data, headers)
        response = connection.getresponse()
        self._answered = True
        return response.status, response.read()

    def _explain(self, error: Exception) -> ControllerUnreachable:
        """The failure in one line that says what to do about it."""
        at = f"the controller at {self._base}"
        if isinstance(error, ssl.SSLCertVerificationError):
            if error.verify_code in WRONG_NAME:
                return WrongHost(
                    f"the certificate of {at} is not valid for {self._host}; "
                    "use a name it was issued for, or issue one for this name "
                    "(assistcli controller tls init --host NAME)"
                )
            trusted = self._ca.source if self._ca else "a CA this system trusts"
            verdict = f"is not signed by {trusted}" if error.verify_code in NOT_SIGNED else ""
            verdict = verdict or f"does not check out against {trusted}"
            why = error.verify_message or error.reason
            return Untrusted(
                f"the certificate of {at} {verdict} ({why}); "
                "agentd register --ca-file or --ca-fingerprint choose the CA to trust"
            )
        if isinstance(error, ssl.SSLError) and not self._answered and self._speaks_plain_http():
            return SpeaksPlainHttp(f"{at} speaks plain HTTP; use http://{self._netloc}")
        if isinstance(error, ssl.SSLError):
            return ControllerUnreachable(f"TLS with {at} failed: {error.reason or error}")
        if (
            isinstance(error, ConnectionResetError)
            and self._scheme == "http"
            and not self._answered
        ):
            return ClosedWithoutAnswer(
                f"{at} closed the connection without an answer; "
                f"if it serves HTTPS use https://{self._netloc}"
            )
        return ControllerUnreachable(f"{self.server}: {error}")

    def _speaks_plain_http(self) -> bool:
        """Whether the port answers a plain HTTP request (its TLS handshake just failed)."""
        probe = http.client.HTTPConnection(self._host, self._port or 443, timeout=5)
        try:
            probe.request("GET", "/healthz")
            probe.getresponse().read()
        except (OSError, http.client.HTTPException):
            return False
        finally:
            probe.close()
        return True

    def _answer(self, status: int, payload: bytes) -> dict[str, Any]:
        try:
            body = json.loads(payload)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ControllerUnreachable(
                f"{self.server} answered HTTP {status} without JSON", status
            )
        if status >= 500:
            raise ControllerUnreachable(
                f"{self.server}: HTTP {status} {body.get('Code', '')}", status
            )
        if status >= 400:
            raise Refused(status, str(body.get("Code", "")), str(body.get("Message", "")))
        return body

    def register(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.post(proto.REGISTER, request)

    def poll(self, body: dict[str, Any], wait: float) -> dict[str, Any]:
        return self.post(proto.POLL, {**body, "wait": wait}, timeout=wait + 15)

    def report(self, reports: list[proto.Report]) -> dict[str, Any]:
        return self.post(proto.REPORT, {"reports": [r.to_wire() for r in reports]})
