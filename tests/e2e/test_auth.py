"""Request authentication: V1 and V3 signatures, skew, replay, tampering (reference §1.2-1.7).

Requests are built by the independent raw client (`rawclient.py`), and where it matters the
official SDKs confirm that the server's answers are the ones they know how to read.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests
from conftest import REGION, Controller, make_tea_client
from rawclient import (
    RawRequest,
    build,
    call,
    describe,
    error_body,
    expect_error,
    new_nonce,
    ok_body,
    send,
    sign_v3,
)

pytestmark = pytest.mark.e2e

SIGNATURES = ["v1", "v3"]
DESCRIBE: dict[str, str | None] = {"Action": "DescribeCommands", "RegionId": REGION}
MISMATCH_PREFIX = "string to sign is:"


def signed(ctl: Controller, params: dict[str, str | None] | None = None, **kw: Any) -> RawRequest:
    return build(ctl.url, ctl.access_key_id, ctl.access_key_secret, params or DESCRIBE, **kw)


def rpc(
    ctl: Controller, params: dict[str, str | None] | None = None, **kw: Any
) -> requests.Response:
    return send(signed(ctl, params, **kw))


def minutes_from_now(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


# --- accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("signature", SIGNATURES)
def test_v1_and_v3_signatures_are_accepted(
    controller: Controller, signature: str, method: str
) -> None:
    body = ok_body(rpc(controller, signature=signature, method=method))
    assert "Commands" in body


@pytest.mark.parametrize("signature", SIGNATURES)
def test_form_body_request_is_accepted(controller: Controller, signature: str) -> None:
    params = {**DESCRIBE, "Name": "no such name *"}
    ok_body(rpc(controller, params, signature=signature, body_params=True))


@pytest.mark.parametrize("signature", SIGNATURES)
def test_empty_values_are_signed(controller: Controller, signature: str) -> None:
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
    controller: Controller, signature: str, method: str, body_params: bool
) -> None:
    """RFC 3986 percent-encoding of UTF-8 names and values (§1.4 step 2, §1.5)."""
    params = {**DESCRIBE, "Name": TRICKY, "Description": TRICKY[::-1]}
    resp = rpc(controller, params, signature=signature, method=method, body_params=body_params)
    assert ok_body(resp)["TotalCount"] == 0


def test_spaces_sent_as_plus_are_decoded_before_verifying(controller: Controller) -> None:
    """The Tea SDK encodes spaces as `+`, the core SDK as `%20`; both mean a space (§1.3)."""
    req = signed(controller, {**DESCRIBE, "Name": "a name with spaces*"})
    req.raw_query = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in req.query.items())
    assert "Name=a+name+with+spaces" in req.url
    ok_body(send(req))


def test_small_clock_skew_is_tolerated(controller: Controller) -> None:
    for minutes in (-5, 5):
        for signature in SIGNATURES:
            stamp = minutes_from_now(minutes)
            ok_body(rpc(controller, signature=signature, timestamp=stamp))


def test_official_sdks_are_accepted(controller: Controller, core_client: Any) -> None:
    from alibabacloud_ecs20140526 import models as ecs
    from aliyunsdkecs.request.v20140526.DescribeCommandsRequest import DescribeCommandsRequest

    assert b"Commands" in core_client.do_action_with_exception(DescribeCommandsRequest())
    for v1 in (False, True):
        client = make_tea_client(controller, v1=v1)
        resp = client.describe_commands(ecs.DescribeCommandsRequest(region_id=REGION))
        assert resp.status_code == 200 and resp.body.request_id


# --- wrong secret: SignatureDoesNotMatch with the server's string to sign (§1.6) --------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_v1_wrong_secret_reports_the_string_to_sign(controller: Controller, method: str) -> None:
    params = {**DESCRIBE, "Name": "spaces & symbols *~/é"}
    req = build(controller.url, controller.access_key_id, "wrong-secret", params, method=method)
    body = expect_error(send(req), 400, "SignatureDoesNotMatch")
    message = body["Message"]
    assert MISMATCH_PREFIX in message
    assert message.split(MISMATCH_PREFIX, 1)[1] == req.string_to_sign
    # The core SDK parses exactly this: Message.split(':')[1] is the server's StringToSign.
    assert message.split(":")[1] == req.string_to_sign


def test_v3_wrong_secret_reports_the_string_to_sign(controller: Controller) -> None:
    req = build(controller.url, controller.access_key_id, "wrong-secret", DESCRIBE, signature="v3")
    body = expect_error(send(req), 400, "SignatureDoesNotMatch")
    assert MISMATCH_PREFIX in body["Message"]
    assert body["Message"].split(MISMATCH_PREFIX, 1)[1] == req.string_to_sign


def test_core_sdk_recognises_its_own_string_to_sign(controller: Controller) -> None:
    """On a match the core SDK rewrites SignatureDoesNotMatch to InvalidAccessKeySecret (§1.6)."""
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkecs.request.v20140526.DescribeCommandsRequest import DescribeCommandsRequest

    client = AcsClient(controller.access_key_id, "wrong-secret", REGION, auto_retry=False)
    client.add_endpoint(REGION, "Ecs", controller.endpoint)
    with pytest.raises(ServerException) as info:
        client.do_action_with_exception(DescribeCommandsRequest())
    assert info.value.get_http_status() == 400
    assert info.value.get_error_code() == "InvalidAccessKeySecret"


def test_tea_sdk_wrong_secret_is_a_client_error(controller: Controller) -> None:
    from alibabacloud_ecs20140526 import models as ecs
    from alibabacloud_tea_openapi.exceptions import ClientException

    client = make_tea_client(controller, secret="wrong-secret")
    with pytest.raises(ClientException) as info:
        client.describe_commands(ecs.DescribeCommandsRequest(region_id=REGION))
    assert info.value.code == "SignatureDoesNotMatch"
    assert info.value.status_code == 400


# --- unknown or missing credentials -------------------------------------------------------------


@pytest.mark.parametrize("signature", SIGNATURES)
def test_unknown_access_key_is_404(controller: Controller, signature: str) -> None:
    resp = call(controller.url, "LTAInosuchkey0000", "whatever", DESCRIBE, signature=signature)
    expect_error(resp, 404, "InvalidAccessKeyId.NotFound")


@pytest.mark.parametrize("signature", SIGNATURES)
def test_unsigned_request_is_400(controller: Controller, signature: str) -> None:
    resp = call(controller.url, controller.access_key_id, None, DESCRIBE, signature=signature)
    body = error_body(resp)
    assert resp.status_code == 400, describe(resp)
    assert body["Code"] in ("MissingParameter", "IncompleteSignature"), describe(resp)


def test_v1_without_access_key_id_is_400(controller: Controller) -> None:
    resp = call(controller.url, None, controller.access_key_secret, DESCRIBE)
    body = error_body(resp)
    assert resp.status_code == 400, describe(resp)
    assert body["Code"] in ("MissingParameter", "IncompleteSignature"), describe(resp)


@pytest.mark.parametrize("missing", ["Timestamp", "SignatureNonce"])
def test_v1_without_a_signing_parameter_is_400(controller: Controller, missing: str) -> None:
    resp = rpc(controller, {**DESCRIBE, missing: None})
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


@pytest.mark.parametrize("missing", ["x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"])
@pytest.mark.parametrize("body_params", [False, True], ids=["query", "form body"])
def test_v3_without_a_signing_header_is_400(
    controller: Controller, missing: str, body_params: bool
) -> None:
    """Even validly signed: the contract requires each of them (the body's hash too, §1.5)."""
    req = signed(controller, {**DESCRIBE, "Name": "x"}, signature="v3", body_params=body_params)
    del req.headers[missing]
    sign_v3(req, controller.access_key_id, controller.access_key_secret)
    body = expect_error(send(req), 400, "MissingParameter")
    assert f'"{missing}"' in body["Message"]


@pytest.mark.parametrize("value", ["", "bm90IGEgc2lnbmF0dXJl", "%%%", "A" * 500])
def test_v1_garbage_signature_is_400(controller: Controller, value: str) -> None:
    req = signed(controller)
    req.query["Signature"] = value
    resp = send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


# --- time skew ----------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [-20, 20])
@pytest.mark.parametrize("signature", SIGNATURES)
def test_skewed_timestamp_is_expired(controller: Controller, signature: str, minutes: int) -> None:
    resp = rpc(controller, signature=signature, timestamp=minutes_from_now(minutes))
    expect_error(resp, 400, "InvalidTimeStamp.Expired")


@pytest.mark.parametrize("stamp", ["yesterday", "2024-13-45T99:00:00Z", "1700000000", ""])
@pytest.mark.parametrize("signature", SIGNATURES)
def test_malformed_timestamp_is_400(controller: Controller, signature: str, stamp: str) -> None:
    resp = rpc(controller, signature=signature, timestamp=stamp)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


# --- replay -------------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", SIGNATURES)
def test_reused_nonce_is_rejected(controller: Controller, signature: str) -> None:
    nonce = new_nonce()
    ok_body(rpc(controller, signature=signature, nonce=nonce))
    other = {**DESCRIBE, "Name": "another request*"}
    expect_error(
        rpc(controller, other, signature=signature, nonce=nonce), 400, "SignatureNonceUsed"
    )


@pytest.mark.parametrize("signature", SIGNATURES)
def test_exact_replay_is_rejected(controller: Controller, signature: str) -> None:
    req = signed(controller, signature=signature)
    ok_body(send(req))
    expect_error(send(req), 400, "SignatureNonceUsed")


# --- tampering after signing --------------------------------------------------------------------


@pytest.mark.parametrize("signature", SIGNATURES)
def test_tampered_query_parameter_is_rejected(controller: Controller, signature: str) -> None:
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature=signature)
    req.query["Name"] = "tampered*"
    expect_error(send(req), 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("signature", SIGNATURES)
def test_added_query_parameter_is_rejected(controller: Controller, signature: str) -> None:
    req = signed(controller, signature=signature)
    req.query["PageSize"] = "1"
    expect_error(send(req), 400, "SignatureDoesNotMatch")


def test_v1_removed_parameter_is_rejected(controller: Controller) -> None:
    req = signed(controller, {**DESCRIBE, "Name": "original*"})
    del req.query["Name"]
    expect_error(send(req), 400, "SignatureDoesNotMatch")


def test_v1_body_parameter_added_after_signing_is_rejected(controller: Controller) -> None:
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, body_params=True)
    assert isinstance(req.body, dict)
    req.body["PageSize"] = "1"
    expect_error(send(req), 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("signature", SIGNATURES)
def test_method_is_part_of_the_signature(controller: Controller, signature: str) -> None:
    req = signed(controller, signature=signature, method="POST")
    req.method = "GET"
    expect_error(send(req), 400, "SignatureDoesNotMatch")


def test_v3_signed_header_tampered_is_rejected(controller: Controller) -> None:
    req = signed(controller, signature="v3")
    req.headers["x-acs-action"] = "DescribeInvocations"
    expect_error(send(req), 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("unsigned", ["x-acs-action", "x-acs-date", "x-acs-signature-nonce"])
def test_v3_must_sign_its_x_acs_headers(controller: Controller, unsigned: str) -> None:
    """Left out of SignedHeaders, the header could be changed at will: the action swapped, or the
    date and nonce renewed to replay a captured request. ACS3 signs host and every x-acs-*."""
    req = signed(controller, signature="v3")
    names = sorted(h.lower() for h in req.headers if h.lower() == "host" or h.startswith("x-acs-"))
    names.remove(unsigned)
    sign_v3(req, controller.access_key_id, controller.access_key_secret, names)
    assert f"SignedHeaders={';'.join(names)}," in req.headers["Authorization"]
    resp = send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


def test_v3_tampered_body_is_rejected(controller: Controller) -> None:
    """The body no longer matches x-acs-content-sha256 (nor the signature)."""
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature="v3", body_params=True)
    assert isinstance(req.body, dict)
    req.body["Name"] = "tampered*"
    resp = send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


def test_v3_tampered_content_sha256_is_rejected(controller: Controller) -> None:
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature="v3", body_params=True)
    req.headers["x-acs-content-sha256"] = hashlib.sha256(b"something else").hexdigest()
    resp = send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


def test_v3_body_and_content_sha256_both_replaced_is_rejected(controller: Controller) -> None:
    """A consistent (body, hash) pair that the signature did not cover."""
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature="v3", body_params=True)
    req.body = b"Name=tampered%2A&RegionId=cn-hangzhou"
    req.headers["x-acs-content-sha256"] = hashlib.sha256(req.body).hexdigest()
    expect_error(send(req), 400, "SignatureDoesNotMatch")


def test_v3_content_sha256_not_matching_the_body_is_rejected(controller: Controller) -> None:
    """Correctly signed over the declared hash, but the body is another: the hash is checked."""
    req = signed(controller, {**DESCRIBE, "Name": "original*"}, signature="v3", body_params=True)
    req.body = b"Name=tampered%2A&RegionId=cn-hangzhou"
    sign_v3(req, controller.access_key_id, controller.access_key_secret)
    resp = send(req)
    error_body(resp)
    assert resp.status_code == 400, describe(resp)


# --- secrets stay out of the log (runs last in this file) --------------------------------------


def test_zz_secret_never_appears_in_the_log(controller: Controller) -> None:
    ok_body(rpc(controller))
    log = controller.log()
    assert controller.access_key_secret not in log
    assert "wrong-secret" not in log
