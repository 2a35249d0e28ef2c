"""A small, independent RPC client for the tests: V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256) signing.

Written from the compatibility reference (cloud-assistant-api.md §1.4 and §1.5) with the standard
library; answers come back as `requests.Response` objects. It deliberately does not import the
project's own signing code, so it is an independent oracle. It exposes every knob a test needs to
build broken requests: stale timestamps, reused nonces, GET or POST, form bodies, and requests
that are tampered with after signing.

    req = build(url, key_id, secret, {"Action": "DescribeCommands", "RegionId": "cn-hangzhou"})
    req.query["Extra"] = "1"        # tamper after signing
    resp = send(req)

A parameter whose value is None is left out, so `{"Version": None}` sends no Version at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import requests
import requests.utils
from requests.structures import CaseInsensitiveDict

API_VERSION = "2014-05-26"
V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
FORM_TYPE = "application/x-www-form-urlencoded"

Params = Mapping[str, str | None]


def pct(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 text: only A-Z a-z 0-9 - _ . ~ stay as they are."""
    return quote(value, safe="-_.~", encoding="utf-8")


def format_timestamp(moment: datetime | None = None) -> str:
    """`YYYY-MM-DDThh:mm:ssZ` in UTC (now when no moment is given)."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_nonce() -> str:
    return uuid.uuid4().hex


def encode_pairs(params: Mapping[str, str]) -> str:
    """`k=v&...` with both sides percent-encoded, in the given order (a query string or a body)."""
    return "&".join(f"{pct(k)}={pct(v)}" for k, v in params.items())


def canonical_query(params: Mapping[str, str]) -> str:
    """Sorted by encoded name, `pct(name)=pct(value)` joined with `&` (§1.4 steps 2-3, §1.5)."""
    pairs = sorted((pct(k), pct(v)) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """§1.4: METHOD & pct("/") & pct(CanonicalizedQueryString), `Signature` excluded."""
    signed = {k: v for k, v in params.items() if k != "Signature"}
    return f"{method.upper()}&{pct('/')}&{pct(canonical_query(signed))}"


def v1_signature(string_to_sign: str, secret: str) -> str:
    """§1.4 step 5: Base64(HMAC-SHA1(secret + "&", StringToSign))."""
    mac = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def v3_canonical_request(
    method: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    signed_headers: list[str],
    payload_hash: str,
) -> str:
    """§1.5: the newline-joined METHOD, "/", query, headers, signed-header list, body hash."""
    lowered = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join(f"{h}:{lowered.get(h, '').strip()}\n" for h in signed_headers)
    return (
        f"{method.upper()}\n/\n{canonical_query(query)}\n{canonical_headers}\n"
        f"{';'.join(signed_headers)}\n{payload_hash}"
    )


def v3_string_to_sign(canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return f"{V3_ALGORITHM}\n{digest}"


def v3_signature(string_to_sign: str, secret: str) -> str:
    """§1.5: hex HMAC-SHA256 keyed by the bare secret (no "&")."""
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class RawRequest:
    """A fully built request. Mutate any field after `build` to tamper with a signed request."""

    method: str
    base_url: str
    query: dict[str, str]
    body: dict[str, str] | bytes
    headers: dict[str, str]
    string_to_sign: str = ""
    canonical_request: str = ""
    raw_query: str | None = field(default=None)

    @property
    def url(self) -> str:
        query = self.raw_query if self.raw_query is not None else encode_pairs(self.query)
        return f"{self.base_url}?{query}" if query else self.base_url

    @property
    def body_bytes(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return encode_pairs(self.body).encode()


def _present(params: Params) -> dict[str, str]:
    return {k: v for k, v in params.items() if v is not None}


def _base_url(endpoint_url: str) -> str:
    parts = urlsplit(endpoint_url if "://" in endpoint_url else f"http://{endpoint_url}")
    return f"{parts.scheme}://{parts.netloc}/"


def _build_v1(
    req: RawRequest,
    key_id: str | None,
    secret: str | None,
    params: Params,
    timestamp: str,
    nonce: str,
    body_params: bool,
) -> None:
    common: dict[str, str | None] = {
        "Format": "JSON",
        "Version": API_VERSION,
        "AccessKeyId": key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce,
        "Timestamp": timestamp,
    }
    merged = {**common, **params}
    control = {"Action", "Version", *common}
    if body_params:
        req.query = _present({k: v for k, v in merged.items() if k in control})
        req.body = _present({k: v for k, v in merged.items() if k not in control})
        req.headers.setdefault("Content-Type", FORM_TYPE)
    else:
        req.query = _present(merged)
    if secret is not None:
        sign_v1(req, secret)


def sign_v1(req: RawRequest, secret: str) -> None:
    """(Re-)sign `req` as it stands: every query and form-body parameter but `Signature`."""
    req.query.pop("Signature", None)
    body = req.body if isinstance(req.body, dict) else {}
    req.string_to_sign = v1_string_to_sign(req.method, {**req.query, **body})
    req.query["Signature"] = v1_signature(req.string_to_sign, secret)


def _build_v3(
    req: RawRequest,
    key_id: str | None,
    secret: str | None,
    params: Params,
    timestamp: str,
    nonce: str,
    body_params: bool,
) -> None:
    business = dict(params)
    action = business.pop("Action", None)
    version = business.pop("Version", API_VERSION)
    if body_params:
        req.body = _present(business)
        req.headers.setdefault("Content-Type", FORM_TYPE)
    else:
        req.query = _present(business)
    acs = {
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": timestamp,
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": hashlib.sha256(req.body_bytes).hexdigest(),
    }
    req.headers.update(_present(acs))
    req.headers["Accept"] = "application/json"
    req.headers["Host"] = urlsplit(req.base_url).netloc
    if secret is not None:
        sign_v3(req, key_id, secret)


def sign_v3(
    req: RawRequest, key_id: str | None, secret: str, signed_headers: list[str] | None = None
) -> None:
    """(Re-)sign `req` as it stands: host, content-type and every x-acs-* header are signed
    (unless `signed_headers` says otherwise), and the payload hash is the x-acs-content-sha256
    header as sent (not recomputed from the body)."""
    req.headers.pop("Authorization", None)
    signed = signed_headers or sorted(
        h.lower()
        for h in req.headers
        if h.lower() in ("host", "content-type") or h.lower().startswith("x-acs-")
    )
    payload_hash = req.headers.get("x-acs-content-sha256", EMPTY_SHA256)
    req.canonical_request = v3_canonical_request(
        req.method, req.query, req.headers, signed, payload_hash
    )
    req.string_to_sign = v3_string_to_sign(req.canonical_request)
    signature = v3_signature(req.string_to_sign, secret)
    req.headers["Authorization"] = (
        f"{V3_ALGORITHM} Credential={key_id or ''},SignedHeaders={';'.join(signed)},"
        f"Signature={signature}"
    )


def build(
    endpoint_url: str,
    key_id: str | None,
    secret: str | None,
    params: Params,
    *,
    method: str = "POST",
    signature: str = "v1",
    timestamp: str | datetime | None = None,
    nonce: str | None = None,
    body_params: bool = False,
    extra_headers: Mapping[str, str] | None = None,
) -> RawRequest:
    """Build (and sign, unless `secret` is None) one RPC request.

    V1: Action/Version and the common signing parameters go in the query; with `body_params`
    the business parameters go in a form body (and are signed, as the query is). V3: Action and
    Version become `x-acs-action`/`x-acs-version`, the business parameters go in the query (or
    in the form body, covered by `x-acs-content-sha256`). `extra_headers` are added before
    signing (a V3 request signs the `x-acs-*` ones).
    """
    stamp = timestamp if isinstance(timestamp, str) else format_timestamp(timestamp)
    req = RawRequest(method.upper(), _base_url(endpoint_url), {}, {}, dict(extra_headers or {}))
    builder = {"v1": _build_v1, "v3": _build_v3}[signature.lower()]
    builder(req, key_id, secret, params, stamp, nonce or new_nonce(), body_params)
    return req


def send(req: RawRequest, *, timeout: float = 30.0) -> requests.Response:
    """Send exactly what `req` holds, byte for byte, and wrap the answer as a requests.Response.

    This uses http.client rather than requests' own transport: urllib3 re-encodes a request
    target whose percent-escapes are not all valid (one `%ZZ` turns every `%` into `%25`), which
    would change what a garbage test means to send.
    """
    parts = urlsplit(req.base_url)
    headers = CaseInsensitiveDict(req.headers)
    headers.setdefault("Host", parts.netloc)
    headers.setdefault("User-Agent", "assist-e2e-rawclient")
    body = req.body_bytes
    if body or req.method not in ("GET", "HEAD"):
        headers["Content-Length"] = str(len(body))
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.putrequest(req.method, req.url[len(req.base_url) - 1 :], True, True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body or None)
        raw = conn.getresponse()
        resp = requests.Response()
        resp.status_code, resp.reason, resp.url = raw.status, raw.reason, req.url
        resp.headers = CaseInsensitiveDict(dict(raw.getheaders()))
        resp._content = raw.read()
        resp.encoding = requests.utils.get_encoding_from_headers(resp.headers)
        return resp
    finally:
        conn.close()


def call(
    endpoint_url: str,
    key_id: str | None,
    secret: str | None,
    params: Params,
    *,
    method: str = "POST",
    signature: str = "v1",
    timestamp: str | datetime | None = None,
    nonce: str | None = None,
    body_params: bool = False,
    extra_headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """Build, sign and send one request; see `build`."""
    req = build(
        endpoint_url,
        key_id,
        secret,
        params,
        method=method,
        signature=signature,
        timestamp=timestamp,
        nonce=nonce,
        body_params=body_params,
        extra_headers=extra_headers,
    )
    return send(req)


ERROR_KEYS = frozenset({"RequestId", "HostId", "Code", "Message", "Recommend"})


def describe(resp: requests.Response) -> str:
    """A short description of a response for assertion messages."""
    return f"HTTP {resp.status_code} {resp.headers.get('Content-Type')!r} {resp.text[:500]!r}"


def json_body(resp: requests.Response) -> dict[str, object]:
    """The JSON object of a response whose Content-Type is application/json."""
    content_type = resp.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), describe(resp)
    body = resp.json()
    assert isinstance(body, dict), describe(resp)
    return body


def ok_body(resp: requests.Response) -> dict[str, object]:
    """Assert a success (HTTP 200, JSON object with a RequestId) and return the body."""
    assert resp.status_code == 200, describe(resp)
    body = json_body(resp)
    assert isinstance(body.get("RequestId"), str) and body["RequestId"], describe(resp)
    return body


def error_body(resp: requests.Response) -> dict[str, str]:
    """Assert the §1.6 error shape: 4xx, JSON, exactly RequestId/HostId/Code/Message/Recommend."""
    assert 400 <= resp.status_code < 500, describe(resp)
    body = json_body(resp)
    assert set(body) == ERROR_KEYS, describe(resp)
    assert all(isinstance(body[k], str) for k in ERROR_KEYS), describe(resp)
    assert body["RequestId"] and body["Code"] and body["Message"], describe(resp)
    return {k: str(v) for k, v in body.items()}


def expect_error(resp: requests.Response, status: int, code: str) -> dict[str, str]:
    """Assert an error of exactly this HTTP status and Code (and the §1.6 shape)."""
    body = error_body(resp)
    assert (resp.status_code, body["Code"]) == (status, code), describe(resp)
    return body
