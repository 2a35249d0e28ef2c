"""A signed Cloud Assistant API client: `ApiClient(...).call("DescribeCommands", {...})`.

Requests are signed with signature V1 and sent as the official SDKs send them: POST to `/` with
every parameter in the query string. Each attempt is signed afresh (new nonce and timestamp).
Retries cover what is safe to repeat: a request that never reached the server, and, for
read-only actions or requests carrying a ClientToken, timeouts and 5xx/throttling answers.

Two transports: `requests` (the default: proxies, TLS checked against a `Trust`) and a plain
HTTP/1.0 one over a socket, which the CLI uses for `http://` endpoints because it starts ~100 ms
faster. Failures name the endpoint's base URL, never the signed query.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from assistcli.api.actions import API_VERSION, BY_NAME
from assistcli.api.codec import encode
from assistcli.api.signing import canonical_query, sign_v1
from assistcli.errors import ApiError, AssistError
from assistcli.trust import Trust, closed_unanswered, innermost, speaks_tls, tls_failure

USER_AGENT = "assistcli/0.1"
RETRYABLE_CODES = frozenset(
    {"ServiceUnavailable", "Throttling", "Throttling.User", "InternalError"}
)


class TransportError(AssistError):
    """The controller could not be reached or did not answer like one."""

    tip = ""

    def __init__(
        self,
        message: str,
        *,
        delivered: bool = False,
        unreachable: bool = False,
        final: bool = False,
        tip: str = "",
    ):
        super().__init__(message)
        self.delivered = delivered  # the request may have reached the server
        self.final = final  # repeating it cannot help (a certificate, a wrong scheme)
        self.tip = tip
        if unreachable:
            self.tip = (
                "Is the controller running? Start a local one with `assistcli controller start`, "
                "or point --endpoint (or a profile: `assistcli configure`) at yours."
            )


class ServerError(ApiError):
    """An error body answered by the server (what the aliyun CLI calls SDK.ServerError)."""

    def __init__(self, body: Mapping[str, Any], status: int) -> None:
        super().__init__(
            str(body.get("Code", "UnknownError")),
            str(body.get("Message", "")),
            status=status,
            request_id=str(body.get("RequestId", "")),
        )
        self.recommend = str(body.get("Recommend", ""))
        self.host_id = str(body.get("HostId", ""))
        self.tip = ""  # what to do about it, added by the CLI (assistcli.cli.hints)


class Timeouts(NamedTuple):
    connect: float
    read: float


class PreparedRequest(NamedTuple):
    """A signed request, ready to send or to show (`--dryrun`)."""

    method: str
    url: str  # scheme://host:port/
    params: dict[str, str]

    @property
    def query(self) -> str:
        return canonical_query(self.params)

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def describe(self) -> str:
        """The request as the aliyun CLI's `--dryrun` prints it."""
        path = urlsplit(self.url).path or "/"
        return "\n".join(
            [
                "Skip invoke in dry-run mode, request is:",
                "------------------------------------",
                f"{self.method} {path}?{self.query} HTTP/1.1",
                f"Host: {self.host}",
                f"User-Agent: {USER_AGENT}",
            ]
        )


class Response(NamedTuple):
    status: int
    body: bytes


class Transport(Protocol):
    def send(self, request: PreparedRequest, timeouts: Timeouts) -> Response: ...


class RequestsTransport:
    """HTTP(S) through `requests`: proxies from the environment, certificates checked by `trust`."""

    def __init__(self, trust: Trust | None = None) -> None:
        self.trust = trust or Trust()

    def send(self, request: PreparedRequest, timeouts: Timeouts) -> Response:
        import warnings

        import requests  # only callers that send pay for importing it
        from urllib3.exceptions import InsecureRequestWarning

        url = f"{request.url}?{request.query}"
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        try:
            with warnings.catch_warnings():
                # --skip-secure-verify already warned, once per call rather than per request.
                warnings.simplefilter("ignore", InsecureRequestWarning)
                answer = requests.request(
                    request.method,
                    url,
                    headers=headers,
                    timeout=(timeouts.connect, timeouts.read),
                    verify=self.trust.requests_verify,
                )
        except requests.exceptions.SSLError as error:
            message = tls_failure(request.url, error, self.trust)
            raise TransportError(message, final=True) from error
        except requests.ConnectionError as error:
            if _dropped_unanswered(error):
                message = closed_unanswered(request.url)
                raise TransportError(message, delivered=True) from error
            sent = not _never_sent(error)
            raise _unreachable(request, error, timeouts, delivered=sent) from error
        except requests.RequestException as error:
            raise _unreachable(request, error, timeouts, delivered=True) from error
        return Response(answer.status_code, answer.content)


def _dropped_unanswered(error: Exception) -> bool:
    from http.client import RemoteDisconnected

    return isinstance(innermost(error), RemoteDisconnected)


def _never_sent(error: Exception) -> bool:
    """Whether `requests` failed before the request left (refused, or timed out connecting)."""
    import requests
    from urllib3.exceptions import NewConnectionError

    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectTimeout) or isinstance(reason, NewConnectionError)


class PlainHttpTransport:
    """Plain HTTP/1.0 over a socket: no TLS, no proxies, no keep-alive; one request, one answer.

    The CLI uses it for `http://` endpoints because it costs ~1 ms to import where http.client
    (and the email parser it loads) costs ~25 ms and requests ~100 ms. HTTP/1.0 keeps the answer
    simple: the server closes the connection after the body and does not chunk it.
    """

    def send(self, request: PreparedRequest, timeouts: Timeouts) -> Response:
        parts = urlsplit(request.url)
        try:
            connection = _connect(parts.hostname or "", parts.port or 80, timeouts.connect)
        except OSError as error:
            raise _unreachable(request, error, timeouts, delivered=False) from error
        try:
            connection.settimeout(timeouts.read)
            connection.sendall(_request_bytes(request))
            raw = _read_all(connection)
        except OSError as error:
            raise _unreachable(request, error, timeouts, delivered=True) from error
        finally:
            connection.close()
        return _parse_response(request, raw)


def _connect(host: str, port: int, timeout: float) -> Any:
    """A connected socket, trying each address of `host` (as socket.create_connection does).

    It uses `_socket`, the C module under `socket`: importing `socket` itself costs ~6 ms more
    on Python 3.11 (it builds enum types for every constant), a tenth of a CLI call's budget.
    """
    import _socket

    failure: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _, address in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        connection = _socket.socket(family, kind, proto)
        connection.settimeout(timeout)
        try:
            connection.connect(address)
        except OSError as error:
            connection.close()
            failure = error
            continue
        return connection
    raise failure


def _request_bytes(request: PreparedRequest) -> bytes:
    path = urlsplit(request.url).path or "/"
    lines = [
        f"{request.method} {path}?{request.query} HTTP/1.0",
        f"Host: {request.host}",
        f"User-Agent: {USER_AGENT}",
        "Accept: application/json",
        "Content-Length: 0",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _read_all(connection: Any) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_response(request: PreparedRequest, raw: bytes) -> Response:
    if not raw:
        raise TransportError(closed_unanswered(request.url), delivered=True)
    if raw[:1] in (b"\x15", b"\x16") and raw[1:2] == b"\x03":  # a TLS record: alert, handshake
        raise TransportError(speaks_tls(request.url), delivered=True, final=True)
    head, separator, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    words = status_line.split()
    if (
        not separator
        or len(words) < 2
        or not words[0].startswith("HTTP/")
        or not words[1].isdigit()
    ):
        raise TransportError(f"{request.url} did not answer with HTTP", delivered=True)
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return Response(int(words[1]), body)


def _dechunk(body: bytes) -> bytes:
    """A chunked body (RFC 9112 7.1), should a server chunk despite HTTP/1.0."""
    decoded = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        decoded += body[:size]
        body = body[size + 2 :]
    return bytes(decoded)


def _unreachable(
    request: PreparedRequest, error: BaseException, timeouts: Timeouts, *, delivered: bool
) -> Exception:
    reason = _reason(error)
    if reason == "timed out":
        return _timed_out(request, timeouts, delivered=delivered)
    return TransportError(
        f"cannot reach the controller at {request.url}: {reason}",
        delivered=delivered,
        unreachable=True,
    )


def _timed_out(request: PreparedRequest, timeouts: Timeouts, *, delivered: bool) -> Exception:
    """Which wait ran out, and the flag that sets it."""
    if delivered:
        return TransportError(
            f"the controller at {request.url} did not answer within {timeouts.read:g} s",
            delivered=True,
            tip="Wait longer with --read-timeout SECONDS (or `assistcli configure set "
            "--read-timeout SECONDS` for a profile).",
        )
    return TransportError(
        f"no connection to the controller at {request.url} within {timeouts.connect:g} s",
        tip="Is the address right, and the controller running? Wait longer with "
        "--connect-timeout SECONDS.",
    )


def _reason(error: BaseException) -> str:
    """The readable part of a socket error, e.g. `[Errno 111] Connection refused`."""
    import re

    text = str(innermost(error)) or type(error).__name__
    if "timed out" in text.lower():
        return "timed out"
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    # urllib3 may quote the URL it tried, signed query included.
    return errno.group(0) if errno else re.sub(r"\?[^\s'\")]*", "", text)


class ApiClient:
    def __init__(
        self,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        *,
        region_id: str = "cn-hangzhou",
        timeout: float = 30.0,
        connect_timeout: float | None = None,
        retries: int = 0,
        transport: Transport | None = None,
        method: str = "POST",
    ) -> None:
        self.url = endpoint if "://" in endpoint else f"http://{endpoint}"
        self.url = self.url.rstrip("/") + "/"
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.region_id = region_id
        self.timeout = timeout
        self.timeouts = Timeouts(connect=connect_timeout or timeout, read=timeout)
        self.retries = retries
        self.transport: Transport = transport or RequestsTransport()
        self.method = method

    def signed_params(self, action: str, params: Mapping[str, Any]) -> dict[str, str]:
        spec = BY_NAME.get(action)
        if spec is None:
            raise AssistError(f"unknown action {action!r}")
        flat = {"Action": action, "Version": API_VERSION, "RegionId": self.region_id}
        flat.update(encode(spec, params))
        return sign_v1(self.method, flat, access_key_id=self.access_key_id, secret=self._secret)

    def prepare(self, action: str, params: Mapping[str, Any] | None = None) -> PreparedRequest:
        """The signed request `call` would send now."""
        return PreparedRequest(self.method, self.url, self.signed_params(action, params or {}))

    def call(self, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The response body; an error body raises `ServerError` (an `ApiError`)."""
        params = params or {}
        for attempt in range(self.retries + 1):
            try:
                return self._attempt(action, params)
            except (TransportError, ServerError) as error:
                if attempt == self.retries or not _retryable(error, action, params):
                    raise
            time.sleep(min(0.2 * 2**attempt, 2.0))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _attempt(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        request = self.prepare(action, params)
        response = self.transport.send(request, self.timeouts)
        return _decode(request, response)


def _decode(request: PreparedRequest, response: Response) -> dict[str, Any]:
    import json

    try:
        body = json.loads(response.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TransportError(
            f"{request.url} answered HTTP {response.status} without a JSON body", delivered=True
        )
    if response.status >= 400:
        raise ServerError(body, response.status)
    return body


def _retryable(error: Exception, action: str, params: Mapping[str, Any]) -> bool:
    spec = BY_NAME.get(action)
    safe = (spec is not None and spec.read_only) or bool(params.get("ClientToken"))
    if isinstance(error, TransportError):
        return not error.final and (not error.delivered or safe)
    assert isinstance(error, ServerError)
    return safe and (error.status >= 500 or error.code in RETRYABLE_CODES)
