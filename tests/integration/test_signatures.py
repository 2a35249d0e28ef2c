"""Request authentication: V1 and V3 signatures, skew, replay, tampering (reference §1.2-1.7).

Requests are built by the independent raw client (`rawclient.py`) and given to a controller in
this process as they are; e2e/test_auth.py has the official SDKs confirm, over HTTP, that the
server's answers are the ones they know how to read.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests
from conftest import REGION
from inprocess import InProcessController
from rawclient import (
    RawRequest,
    build,
    describe,
    error_body,
    expect_error,
    new_nonce,
    ok_body,
    sign_v3,
)

SIGNATURES = ["v1", "v3"]
DESCRIBE: dict[str, str | None] = {"Action": "DescribeCommands", "RegionId": REGION}
MISMATCH_PREFIX = "string to sign is:"


@pytest.fixture(scope="module")
def controller(app_controller: InProcessController) -> InProcessController:
    return app_controller


def signed(
    ctl: InProcessController, params: dict[str, str | None] | None = None, **kw: Any
) -> RawRequest:
    return build(ctl.url, ctl.access_key_id, ctl.access_key_secret, params or DESCRIBE, **kw)


def rpc(
    ctl: InProcessController, params: dict[str, str | None] | None = None, **kw: Any
) -> requests.Response:
    return ctl.send(signed(ctl, params, **kw))


def minutes_from_now(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


# --- accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("signature", SIGNATURES)
def test_v1_and_v3_signatures_are_accepted(
    controller: InProcessController, signature: str, method: str
) -> None:
    body = ok_body(rpc(controller, signature=signature, method=method))
    assert "Commands" in body


@pytest.mark.parametrize("signature", SIGNATURES)
def test_form_body_request_is_accepted(controller: InProcessController, signature: str) -> None:
    params = {**DESCRIBE, "Name": "no such name *"}
    ok_body(rpc(controller, params, signature=signature, body_params=True))


@pytest.mark.parametrize("signature", SIGNATURES)
def test_empty_values_are_signed(controller: InProcessController, signature: str) -> None:
    """The core SDK sends `SignatureType=` (empty); it is part of the string to sign (§1.2)."""
    ok_body(
        rpc(controller, {**DESCRIBE, "SignatureType": "", "NextToken": ""}, signature=signature)
    )


TRICKY = "a b*~/+=&%?#é日本😀'\"!()[]{}:;,<>|\\^`$@"


@pytest.mark.parametrize(
    ("signature", "method", "body_params"),
    [(sig, "POST", True) for sig in SIGNATURES]
    + [(sig, method, False) for sig in SIGNATURES for method in ("POST", "GET")],
)
def test_special_characters_are_canonicalized_like_the_sdks(
    controller: InProcessController, signature: str, method: str, body_params: bool
) -> None:
    """RFC 3986 percent-encoding of UTF-8 names and values (§1.4 step 2, §1.5)."""
    params = {**DESCRIBE, "Name": TRICKY, "Description": TRICKY[::-1]}
    resp = rpc(controller, params, signature=signature, method=method, body_params=body_params)
    assert ok_body(resp)["TotalCount"] == 0


def test_spaces_sent_as_plus_are_decoded_before_verifying(controller: InProcessController) -> None:
    """The Tea SDK encodes spaces as `+`, the core SDK as `%20`; both mean a space (§1.3)."""
    req = signed(controller, {**DESCRIBE, "Name": "a name with spaces*"})
    req.raw_query = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in req.query.items())
    assert "Name=a+name+with+spaces" in req.url
    ok_body(controller.send(req))


def test_small_clock_skew_is_tolerated(controller: InProcessController) -> None:
    for minutes in (-5, 5):
        for signature in SIGNATURES:
            stamp = minutes_from_now(minutes)
            ok_body(rpc(controller, signature=signature, timestamp=stamp))


# --- wrong secret: SignatureDoesNotMatch with the server's string to sign (§1.6) --------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_v1_wrong_secret_reports_the_string_to_sign(
    controller: InProcessController, method: str
) -> None:
    params = {**DESCRIBE, "Name": "spaces & symbols *~/é"}
    req = build(controller.url, controller.access_key_id, "wrong-secret", params, method=method)
    body = expect_error(controller.send(req), 400, "SignatureDoesNotMatch")
    message = body["Message"]
    assert MISMATCH_PREFIX in message
    assert message.split(MISMATCH_PREFIX, 1)[1] == req.string_to_sign
    # The core SDK parses exactly this: Message.split(':')[1] is the server's StringToSign.
    assert message.split(":")[1] == req.string_to_sign


def test_v3_wrong_secret_reports_the_string_to_sign(controller: InProcessController) -> None:
    req = build(controller.url, controller.access_key_id, "wrong-secret", DESCRIBE, signature="v3")
    body = expect_error(controller.send(req), 400, "SignatureDoesNotMatch")
    assert MISMATCH_PREFIX in body["Message"]
    assert body["Message"].split(MISMATCH_PREFIX, 1)[1] == req.string_to_sign


# --- unknown or missing credentials -------------------------------------------------------------


@pytest.mark.parametrize("signature", SIGNATURES)
def test_unknown_access_key_is_404(controller: InProcessController, signature: str) -> None:
    resp = controller.send(
        build(controller.url, "LTAInosuchkey0000", "whatever", DESCRIBE, signature=signature)
    )
    expect_error(resp, 404, "InvalidAccessKeyId.NotFound")


@pytest.mark.parametrize("signature", SIGNATURES)
def test_unsigned_request_is_400(controller: InProcessController, signature: str) -> None:
    resp = controller.send(
        build(controller.url, controller.access_key_id, None, DESCRIBE, signature=signature)
    )
    body = error_body(resp)
    assert resp.status_code == 400, describe(resp)
    assert body["Code"] in ("MissingParameter", "IncompleteSignature"), describe(resp)


def test_v1_without_access_key_id_is_400(controller: InProcessController) -> None:
    resp = controller.send(build(controller.url, None, controller.access_key_secret, DESCRIBE))
    body = error_body(resp)
    assert resp.status_code == 400, describe(resp)
    assert body["Code"] in ("MissingParameter", "IncompleteSignature"), describe(resp)


@pytest.mark.parametrize("missing", ["Timestamp", "SignatureNonce"])
def test_v1_without_a_signing_parameter_is_400(
    controller: InProcessController, missing: str
) -> None:
    resp = rpc(controller, {**DESCRIBE, missing: None})
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


@pytest.mark.parametrize("missing", ["x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"])
@pytest.mark.parametrize("body_params", [False, True], ids=["query", "form body"])
def test_v3_without_a_signing_header_is_400(
    controller: InProcessController, missing: str, body_params: bool
) -> None:
    """Even validly signed: the contract requires each of them (the body's hash too, §1.5)."""
    req = signed(controller, {**DESCRIBE, "Name": "x"}, signature="v3", body_params=body_params)
    del req.headers[missing]
    sign_v3(req, controller.access_key_id, controller.access_key_secret)
    body = expect_error(controller.send(req), 400, "MissingParameter")
    assert f'"{missing}"' in body["Message"]


@pytest.mark.parametrize("value", ["", "bm90IGEgc2lnbmF0dXJl", "%%%", "A" * 500])
def test_v1_garbage_signature_is_400(controller: InProcessController, value: str) -> None:
    req = signed(controller)
    req.query["Signature"] = value
    resp = controller.send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


# --- time skew ----------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [-20, 20])
@pytest.mark.parametrize("signature", SIGNATURES)
def test_skewed_timestamp_is_expired(
    controller: InProcessController, signature: str, minutes: int
) -> None:
    resp = rpc(controller, signature=signature, timestamp=minutes_from_now(minutes))
    expect_error(resp, 400, "InvalidTimeStamp.Expired")


@pytest.mark.parametrize("stamp", ["yesterday", "2024-13-45T99:00:00Z", "1700000000", ""])
@pytest.mark.parametrize("signature", SIGNATURES)
def test_malformed_timestamp_is_400(
    controller: InProcessController, signature: str, stamp: str
) -> None:
    resp = rpc(controller, signature=signature, timestamp=stamp)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


# --- replay -------------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", SIGNATURES)
def test_reused_nonce_is_rejected(controller: InProcessController, signature: str) -> None:
    nonce = new_nonce()
    ok_body(rpc(controller, signature=signature, nonce=nonce))
    other = {**DESCRIBE, "Name": "another request*"}
    expect_error(
        rpc(controller, other, signature=signature, nonce=nonce), 400, "SignatureNonceUsed"
    )


@pytest.mark.parametrize("signature", SIGNATURES)
def test_exact_replay_is_rejected(controller: InProcessController, signature: str) -> None:
    req = signed(controller, signature=signature)
    ok_body(controller.send(req))
    expect_error(controller.send(req), 400, "SignatureNonceUsed")


# --- tampering after signing --------------------------------------------------------------------


@pytest.mark.parametrize("signature", SIGNATURES)
def test_tampered_query_parameter_is_rejected(
    controller: InProcessController, signature: str
) -> None:
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature=signature)
    req.query["Name"] = "tampered*"
    expect_error(controller.send(req), 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("signature", SIGNATURES)
def test_added_query_parameter_is_rejected(controller: InProcessController, signature: str) -> None:
    req = signed(controller, signature=signature)
    req.query["PageSize"] = "1"
    expect_error(controller.send(req), 400, "SignatureDoesNotMatch")


def test_v1_removed_parameter_is_rejected(controller: InProcessController) -> None:
    req = signed(controller, {**DESCRIBE, "Name": "original*"})
    del req.query["Name"]
    expect_error(controller.send(req), 400, "SignatureDoesNotMatch")


def test_v1_body_parameter_added_after_signing_is_rejected(controller: InProcessController) -> None:
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, body_params=True)
    assert isinstance(req.body, dict)
    req.body["PageSize"] = "1"
    expect_error(controller.send(req), 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("signature", SIGNATURES)
def test_method_is_part_of_the_signature(controller: InProcessController, signature: str) -> None:
    req = signed(controller, signature=signature, method="POST")
    req.method = "GET"
    expect_error(controller.send(req), 400, "SignatureDoesNotMatch")


def test_v3_signed_header_tampered_is_rejected(controller: InProcessController) -> None:
    req = signed(controller, signature="v3")
    req.headers["x-acs-action"] = "DescribeInvocations"
    expect_error(controller.send(req), 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("unsigned", ["x-acs-action", "x-acs-date", "x-acs-signature-nonce"])
def test_v3_must_sign_its_x_acs_headers(controller: InProcessController, unsigned: str) -> None:
    """Left out of SignedHeaders, the header could be changed at will: the action swapped, or the
    date and nonce renewed to replay a captured request. ACS3 signs host and every x-acs-*."""
    req = signed(controller, signature="v3")
    names = sorted(h.lower() for h in req.headers if h.lower() == "host" or h.startswith("x-acs-"))
    names.remove(unsigned)
    sign_v3(req, controller.access_key_id, controller.access_key_secret, names)
    assert f"SignedHeaders={';'.join(names)}," in req.headers["Authorization"]
    resp = controller.send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


def test_v3_tampered_body_is_rejected(controller: InProcessController) -> None:
    """The body no longer matches x-acs-content-sha256 (nor the signature)."""
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature="v3", body_params=True)
    assert isinstance(req.body, dict)
    req.body["Name"] = "tampered*"
    resp = controller.send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


def test_v3_tampered_content_sha256_is_rejected(controller: InProcessController) -> None:
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature="v3", body_params=True)
    req.headers["x-acs-content-sha256"] = hashlib.sha256(b"something else").hexdigest()
    resp = controller.send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


def test_v3_body_and_content_sha256_both_replaced_is_rejected(
    controller: InProcessController,
) -> None:
    """A consistent (body, hash) pair that the signature did not cover."""
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature="v3", body_params=True)
    req.body = b"Name=tampered%2A&RegionId=cn-hangzhou"
    req.headers["x-acs-content-sha256"] = hashlib.sha256(req.body).hexdigest()
    expect_error(controller.send(req), 400, "SignatureDoesNotMatch")


def test_v3_content_sha256_not_matching_the_body_is_rejected(
    controller: InProcessController,
) -> None:
    """Correctly signed over the declared hash, but the body is another: the hash is checked."""
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature="v3", body_params=True)
    req.body = b"Name=tampered%2A&RegionId=cn-hangzhou"
    sign_v3(req, controller.access_key_id, controller.access_key_secret)
    resp = controller.send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)
