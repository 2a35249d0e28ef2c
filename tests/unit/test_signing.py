"""Our signatures equal the official SDKs' own, for awkward inputs too."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
from alibabacloud_tea_openapi.utils import Utils
from aliyunsdkcore.auth.composer import rpc_signature_composer

from assistcli.api import signing

AWKWARD = {
    "Action": "RunCommand",
    "CommandContent": "echo 'hello world'; ls -la ~/* | grep +x && echo 中文",
    "InstanceId.1": "mi-1",
    "Parameters": '{"name": "a b/c=d&e"}',
    "Empty": "",
}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_v1_matches_core_sdk(method: str) -> None:
    url, sdk_string = rpc_signature_composer.get_signed_url(
        dict(AWKWARD), "ak", "secret", "JSON", method, {}
    )
    sent = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    assert signing.v1_string_to_sign(method, sent) == sdk_string
    assert signing.v1_signature("secret", sdk_string) == sent["Signature"]


def test_v1_matches_tea_sdk_v2_mode() -> None:
    signature = Utils.get_rpcsignature(dict(AWKWARD), "POST", "secret")
    assert signing.v1_signature("secret", signing.v1_string_to_sign("POST", AWKWARD)) == signature


def test_sign_v1_adds_the_common_parameters() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    signed = signing.sign_v1(
        "POST", {"Action": "DescribeCommands"}, access_key_id="ak", secret="s", now=now, nonce="n"
    )
    assert signed["Timestamp"] == "2026-01-02T03:04:05Z"
    assert signed["SignatureNonce"] == "n"
    expected = signing.v1_signature("s", signing.v1_string_to_sign("POST", signed))
    assert signed["Signature"] == expected


def test_v3_matches_tea_sdk() -> None:
    headers = {
        "host": "127.0.0.1:8742",
        "x-acs-action": "RunCommand",
        "x-acs-version": "2014-05-26",
        "x-acs-date": "2026-11-22T10:00:00Z",
        "x-acs-signature-nonce": "abc",
        "x-acs-content-sha256": signing.EMPTY_SHA256,
        "accept": "application/json",
    }
    query = {k: v for k, v in AWKWARD.items() if k != "Action"}
    request = SimpleNamespace(pathname="/", query=query, headers=headers, method="POST")
    header = Utils.get_authorization(request, "ACS3-HMAC-SHA256", signing.EMPTY_SHA256, "ak", "s")
    parsed = signing.parse_v3_authorization(header)
    assert parsed is not None
    assert parsed.access_key_id == "ak"
    string_to_sign = signing.v3_string_to_sign(
        "POST", "/", query, headers, parsed.signed_headers, hashlib.sha256(b"").hexdigest()
    )
    assert signing.v3_signature("s", string_to_sign) == parsed.signature


@pytest.mark.parametrize(
    "header",
    ["ACS3-HMAC-SHA256", "ACS3-HMAC-SHA256 Credential=a", "ACS3-HMAC-SHA256 SignedHeaders=x,y"],
)
def test_malformed_v3_authorization_is_rejected(header: str) -> None:
    assert signing.parse_v3_authorization(header) is None


def test_percent_encoding_follows_rfc3986() -> None:
    assert signing.percent_encode("a b*~/+") == "a%20b%2A~%2F%2B"
