"""Which CA bundle a call trusts, and how a failed TLS exchange reads."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from assistcli.cli.globals import split_globals
from assistcli.client import PreparedRequest, TransportError, _parse_response
from assistcli.client import _reason as reason
from assistcli.client import _retryable as retryable
from assistcli.trust import (
    Trust,
    choose_bundle,
    closed_unanswered,
    tls_failure,
    unreadable_bundle,
)

URL = "https://ctl.example.net:8742/"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_the_flag_then_our_variable_then_the_profile_then_requests_variables() -> None:
    env = {"ASSIST_CA_BUNDLE": "env.pem", "REQUESTS_CA_BUNDLE": "req.pem", "CURL_CA_BUNDLE": "c"}
    profile = ("p", "profile.pem")
    assert choose_bundle("flag.pem", profile, env, skip_verify=False) == Trust(
        "flag.pem", "--ca-bundle"
    )
    assert choose_bundle(None, profile, env, skip_verify=False).source == "$ASSIST_CA_BUNDLE"
    del env["ASSIST_CA_BUNDLE"]
    assert choose_bundle(None, profile, env, skip_verify=False).source == "profile 'p'"
    assert choose_bundle(None, ("", ""), env, skip_verify=False).source == "$REQUESTS_CA_BUNDLE"
    del env["REQUESTS_CA_BUNDLE"]
    assert choose_bundle(None, ("", ""), env, skip_verify=False).bundle == "c"
    assert choose_bundle(None, ("", ""), {}, skip_verify=False) == Trust()


def test_what_requests_is_told() -> None:
    assert Trust().requests_verify is True
    assert Trust("ca.pem", "--ca-bundle").requests_verify == "ca.pem"
    assert Trust("ca.pem", "--ca-bundle", verify=False).requests_verify is False
    assert Trust("ca.pem", "--ca-bundle").describe() == "the CA bundle ca.pem (from --ca-bundle)"
    assert Trust().describe() == "the default CA store"


def test_a_bundle_must_be_a_readable_pem_file_or_directory(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.pem", tmp_path / "bad.pem"
    good.write_text(PEM)
    bad.write_text("hello\n")
    assert unreadable_bundle(str(good)) == ""
    assert unreadable_bundle(str(tmp_path)) == ""
    assert unreadable_bundle(str(bad)) == "it holds no PEM certificate"
    assert unreadable_bundle(str(tmp_path / "none.pem")) == "No such file or directory"


def verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(
        1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message} (_ssl.c:1006)"
    )
    error.verify_code, error.verify_message = code, message
    return error


def wrapped(error: BaseException) -> Exception:
    """As requests raises it: SSLError(MaxRetryError(reason=urllib3 SSLError(ssl error)))."""
    import requests
    from urllib3.exceptions import MaxRetryError
    from urllib3.exceptions import SSLError as Urllib3SSLError

    signed = "/?AccessKeyId=LTAI&Signature=secret"
    return requests.exceptions.SSLError(MaxRetryError(None, signed, Urllib3SSLError(error)))


def test_an_unknown_issuer_names_the_bundle_and_the_fix() -> None:
    error = wrapped(verify_error(20, "unable to get local issuer certificate"))
    message = tls_failure(URL, error, Trust("/ca.pem", "$ASSIST_CA_BUNDLE"))
    assert message.startswith(
        f"the certificate of {URL} is not trusted by the CA bundle /ca.pem (from "
        "$ASSIST_CA_BUNDLE) (unable to get local issuer certificate); pass"
    )
    assert "configure set --ca-bundle" in message and "Signature" not in message


def test_a_hostname_mismatch_says_how_to_issue_a_certificate() -> None:
    detail = "Hostname mismatch, certificate is not valid for 'ctl.example.net'."
    message = tls_failure(URL, wrapped(verify_error(62, detail)), Trust())
    assert f"is not valid for that address ({detail[:-1]})" in message
    assert message.endswith("(`assistcli controller tls init --host ctl.example.net`)")


def test_tls_spoken_to_plain_http_and_other_handshake_failures() -> None:
    plain = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    assert tls_failure(URL, wrapped(plain), Trust()) == (
        f"the endpoint {URL} speaks plain HTTP, not HTTPS; use http://ctl.example.net:8742/"
    )
    eof = ssl.SSLEOFError(8, "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF in violation (_ssl.c:1006)")
    assert tls_failure(URL, wrapped(eof), Trust()) == (
        f"the TLS handshake with {URL} failed: EOF in violation"
    )


def request() -> PreparedRequest:
    return PreparedRequest("POST", "http://ctl.example.net:8742/", {"Signature": "secret"})


def test_a_plain_request_dropped_or_answered_in_tls() -> None:
    with pytest.raises(TransportError) as dropped:
        _parse_response(request(), b"")
    assert str(dropped.value) == closed_unanswered("http://ctl.example.net:8742/")
    assert str(dropped.value).endswith("if it serves HTTPS use https://ctl.example.net:8742/")
    with pytest.raises(TransportError) as alert:
        _parse_response(request(), b"\x15\x03\x03\x00\x02\x02\x46")
    assert "answered in TLS; use https://ctl.example.net:8742/" in str(alert.value)
    assert alert.value.final and not retryable(alert.value, "DescribeCommands", {})


def test_socket_errors_never_quote_the_signed_url() -> None:
    text = "HTTPSConnectionPool(host='h', port=1): Max retries exceeded with url: /?Signature=x"
    assert "Signature" not in reason(OSError(text))


def test_the_flags_are_global() -> None:
    options, rest = split_globals(["ecs", "X", "--ca-bundle", "~/ca.pem", "--skip-secure-verify"])
    assert rest == ["ecs", "X"] and options.skip_secure_verify
    overrides = options.overrides()
    assert overrides.ca_bundle == str(Path.home() / "ca.pem") and overrides.skip_secure_verify
