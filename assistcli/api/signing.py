"""Alibaba Cloud RPC request signatures, as the official SDKs compute them.

V1: HMAC-SHA1 over the sorted, percent-encoded query (`Signature` parameter); the core SDK, the
aliyun CLI and the Tea SDK in `signature_algorithm='v2'` mode use it.
V3: `Authorization: ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...`; the Tea
SDK's default. Both are pure functions of the request, so the controller verifies with the same
code a client signs with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def percent_encode(text: str) -> str:
    """RFC 3986: everything but A-Z a-z 0-9 - _ . ~ becomes %XY."""
    return quote(text, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    pairs = sorted((percent_encode(k), percent_encode(v)) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(unsigned))}"


def v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sign_v1(
    method: str,
    params: Mapping[str, str],
    *,
    access_key_id: str,
    secret: str,
    now: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """`params` plus the common V1 parameters and their `Signature`."""
    signed = {
        **params,
        "Format": "JSON",
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": (now or datetime.now(UTC)).strftime(TIMESTAMP_FORMAT),
    }
    signed["Signature"] = v1_signature(secret, v1_string_to_sign(method, signed))
    return signed


@dataclass(frozen=True, slots=True)
class V3Authorization:
    algorithm: str
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_v3_authorization(header: str) -> V3Authorization | None:
    """Split an `ACS3-... Credential=..,SignedHeaders=..,Signature=..` header; None if malformed."""
    algorithm, _, rest = header.strip().partition(" ")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, value = part.strip().partition("=")
        if eq:
            fields[name] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    signed = tuple(h for h in fields["SignedHeaders"].split(";") if h)
    return V3Authorization(algorithm, fields["Credential"], signed, fields["Signature"])


def v3_string_to_sign(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body_sha256: str,
    algorithm: str = V3_ALGORITHM,
) -> str:
    """`headers` maps lower-case names to values."""
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed_headers)
    canonical_request = "\n".join(
        (
            method.upper(),
            path or "/",
            canonical_query(query),
            canonical_headers,
            ";".join(signed_headers),
            body_sha256,
        )
    )
    return f"{algorithm}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def v3_signature(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def signatures_equal(expected: str, received: str) -> bool:
    return hmac.compare_digest(expected.encode(), received.encode())
