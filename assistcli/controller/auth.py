"""Who is calling: verify a V1 or V3 signature, its timestamp and its nonce.

`Authorization: ACS3-...` means V3 (action and version in `x-acs-*` headers); otherwise the V1
`Signature` parameter is checked. A request is refused when its timestamp is more than
`max_skew` seconds off, or its nonce was seen within twice that window (a replay).
"""

from __future__ import annotations

import calendar
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

from assistcli.api import signing
from assistcli.controller.models import AccessKey
from assistcli.controller.store import Store
from assistcli.errors import ApiError, missing

LAST_USED_RESOLUTION = 60.0  # seconds: a key's last use is kept to the minute

# Protocol parameters of a V1 request; everything else is the action's own.
V1_COMMON = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "Signature",
        "SecurityToken",
    }
)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    path: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True, slots=True)
class Call:
    """An authenticated request: which action, and its own parameters."""

    action: str
    version: str
    access_key_id: str
    params: dict[str, str]
    format: str = "JSON"


async def authenticate(request: SignedRequest, store: Store, now: float, max_skew: float) -> Call:
    if request.headers.get("authorization", "").startswith("ACS3-"):
        return await _verify_v3(request, store, now, max_skew)
    return await _verify_v1(request, store, now, max_skew)


async def _verify_v1(request: SignedRequest, store: Store, now: float, max_skew: float) -> Call:
    params = {**request.query, **request.form}
    for name in ("Signature", "AccessKeyId", "Timestamp", "SignatureNonce"):
        if not params.get(name):
            raise missing(name)
    method = params.get("SignatureMethod", "HMAC-SHA1")
    if method != "HMAC-SHA1":
        raise ApiError.of("UnsupportedSignatureMethod", method=method)
    _check_time(params["Timestamp"], now, max_skew)
    key = await _key(store, params["AccessKeyId"])
    string_to_sign = signing.v1_string_to_sign(request.method, params)
    expected = signing.v1_signature(key.secret, string_to_sign)
    if not signing.signatures_equal(expected, params["Signature"]):
        raise ApiError.of("SignatureDoesNotMatch", string_to_sign=string_to_sign)
    await _check_nonce(store, params["SignatureNonce"], now, max_skew)
    await _used(store, key, now)
    own = {k: v for k, v in params.items() if k not in V1_COMMON}
    return Call(
        action=params.get("Action", ""),
        version=params.get("Version", ""),
        access_key_id=params["AccessKeyId"],
        params=own,
        format=params.get("Format", "JSON"),
    )


async def _verify_v3(request: SignedRequest, store: Store, now: float, max_skew: float) -> Call:
    headers = request.headers
    parsed = signing.parse_v3_authorization(headers["authorization"])
    if parsed is None:
        raise ApiError("IncompleteSignature")
    if parsed.algorithm != signing.V3_ALGORITHM:
        raise ApiError.of("UnsupportedSignatureMethod", method=parsed.algorithm)
    # The contract (and every official SDK) sends the body's hash: without it the signature
    # would cover a body the server did not check.
    for name in ("x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"):
        if not headers.get(name):
            raise missing(name)
    # An unsigned action, date or nonce could be swapped or replayed: the official SDKs sign
    # every x-acs-* header they send, and the host, so nothing less is accepted.
    unsigned = sorted(
        h
        for h in headers
        if (h == "host" or h.startswith("x-acs-")) and h not in parsed.signed_headers
    )
    if unsigned:
        raise ApiError(
            "IncompleteSignature", f"These headers must be signed: {', '.join(unsigned)}."
        )
    _check_time(headers["x-acs-date"], now, max_skew)
    body_hash = hashlib.sha256(request.body).hexdigest()
    if headers["x-acs-content-sha256"] != body_hash:
        raise ApiError("IncompleteSignature", "x-acs-content-sha256 does not match the body.")
    key = await _key(store, parsed.access_key_id)
    string_to_sign = signing.v3_string_to_sign(
        request.method,
        request.path,
        request.query,
        headers,
        parsed.signed_headers,
        body_hash,
        parsed.algorithm,
    )
    expected = signing.v3_signature(key.secret, string_to_sign)
    if not signing.signatures_equal(expected, parsed.signature):
        raise ApiError.of("SignatureDoesNotMatch", string_to_sign=string_to_sign)
    await _check_nonce(store, headers["x-acs-signature-nonce"], now, max_skew)
    await _used(store, key, now)
    return Call(
        action=headers.get("x-acs-action", ""),
        version=headers.get("x-acs-version", ""),
        access_key_id=parsed.access_key_id,
        params={**request.query, **request.form},
    )


async def _key(store: Store, access_key_id: str) -> AccessKey:
    """The signing key, read from the store on every request: a key disabled or deleted (by
    `assistcli controller access-key`, in another process too) is refused at its next use."""
    key = await store.get_access_key(access_key_id)
    if key is None:
        raise ApiError("InvalidAccessKeyId.NotFound")
    if not key.enabled:
        raise ApiError("InvalidAccessKeyId.Inactive")
    return key


async def _used(store: Store, key: AccessKey, now: float) -> None:
    """Keep the key's last use to the minute: to the second would cost a write per request."""
    if now - (key.last_used or 0.0) >= LAST_USED_RESOLUTION:
        await store.record_access_key_use(key.access_key_id, now)


def _check_time(stamp: str, now: float, max_skew: float) -> None:
    try:
        moment = calendar.timegm(time.strptime(stamp, signing.TIMESTAMP_FORMAT))
    except ValueError:
        raise ApiError("InvalidTimeStamp.Format") from None
    if abs(now - moment) > max_skew:
        raise ApiError("InvalidTimeStamp.Expired")


async def _check_nonce(store: Store, nonce: str, now: float, max_skew: float) -> None:
    # A nonce must be remembered as long as its timestamp could still pass the skew check.
    if not await store.use_nonce(nonce, now, keep_for=2 * max_skew):
        raise ApiError("SignatureNonceUsed")
