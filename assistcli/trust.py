"""Which certificates an HTTPS call trusts, and a failed TLS exchange told in one line.

`Trust` is chosen by `assistcli.config` (--ca-bundle, $ASSIST_CA_BUNDLE, the profile, requests'
$REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE, else the default store); the client's transports turn
what went wrong into a sentence that names the bundle and the fix. Messages name the endpoint's
base URL only: the request's query carries its signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

ENV = "ASSIST_CA_BUNDLE"
REQUESTS_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")  # what requests reads by itself
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
SKIP_WARNING = (
    "WARNING: --skip-secure-verify: the controller's certificate is not checked; anyone on the "
    "network path can read and change these requests."
)
# OpenSSL's words for a TLS client that got plain-text bytes where a TLS record should be.
PLAIN_HTTP_SIGNS = (
    "wrong version number",
    "record layer failure",
    "packet length too long",
    "http request",
    "unknown protocol",
)
HOSTNAME_MISMATCH_CODES = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH


class Trust(NamedTuple):
    """What an HTTPS call trusts: a CA bundle, the default store, or (verify off) anything."""

    bundle: str = ""  # a PEM file or a directory of hashed certificates; "" = default store
    source: str = ""  # where `bundle` came from: "--ca-bundle", "$ASSIST_CA_BUNDLE", ...
    verify: bool = True  # False with --skip-secure-verify

    @property
    def requests_verify(self) -> bool | str:
        """The `verify=` argument of requests."""
        return (self.bundle or True) if self.verify else False

    def describe(self) -> str:
        if self.bundle:
            return f"the CA bundle {self.bundle} (from {self.source})"
        return "the default CA store"


def choose_bundle(
    flag: str | None, profile: tuple[str, str], env: Mapping[str, str], *, skip_verify: bool
) -> Trust:
    """--ca-bundle, then $ASSIST_CA_BUNDLE, the profile's (name, bundle), requests' variables."""
    candidates = [
        (flag, "--ca-bundle"),
        (env.get(ENV), f"${ENV}"),
        (profile[1], f"profile '{profile[0]}'"),
        *((env.get(name), f"${name}") for name in REQUESTS_ENV),
    ]
    bundle, source = next(((b, s) for b, s in candidates if b), ("", ""))
    return Trust(bundle, source, verify=not skip_verify)


def unreadable_bundle(path: str) -> str:
    """Why `path` cannot serve as a CA bundle, or "" when it can."""
    import os

    if os.path.isdir(path):
        return "" if os.access(path, os.R_OK | os.X_OK) else "the directory cannot be read"
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except OSError as error:
        return error.strerror or str(error)
    return "" if PEM_CERTIFICATE in text else "it holds no PEM certificate"


def base(url: str, scheme: str) -> str:
    """`url` with another scheme, path `/`: what to suggest instead."""
    from urllib.parse import urlsplit

    return f"{scheme}://{urlsplit(url).netloc}/"


def tls_failure(url: str, error: BaseException, trust: Trust) -> str:
    """One sentence for a failed TLS handshake with `url` (an ssl or urllib3 error)."""
    import ssl
    from urllib.parse import urlsplit

    cause = innermost(error)
    text = str(cause)
    code = getattr(cause, "verify_code", None)
    if code in HOSTNAME_MISMATCH_CODES or "mismatch" in text.lower():
        detail = getattr(cause, "verify_message", "") or _ssl_words(text)
        host = urlsplit(url).hostname or ""
        return (
            f"the certificate of {url} is not valid for that address ({detail.rstrip('.')}); "
            f"connect by a name it lists, or issue one that lists {host} "
            f"(`assistcli controller tls init --host {host}`)"
        )
    if isinstance(cause, ssl.SSLCertVerificationError) or "certificate verify failed" in text:
        detail = getattr(cause, "verify_message", "") or _ssl_words(text)
        return (
            f"the certificate of {url} is not trusted by {trust.describe()} ({detail}); "
            "pass the controller's CA with --ca-bundle FILE (or $ASSIST_CA_BUNDLE), or keep it "
            "in the profile with `assistcli configure set --ca-bundle FILE`"
        )
    if any(sign in text.lower() for sign in PLAIN_HTTP_SIGNS):
        return f"the endpoint {url} speaks plain HTTP, not HTTPS; use {base(url, 'http')}"
    if "no certificate or crl found" in text.lower():
        return f"{trust.describe()} holds no certificate OpenSSL can read"
    return f"the TLS handshake with {url} failed: {_ssl_words(text)}"


def closed_unanswered(url: str) -> str:
    """A plain-HTTP request a TLS server dropped (it waits for a handshake, not a request)."""
    return (
        f"the endpoint {url} closed the connection without answering; "
        f"if it serves HTTPS use {base(url, 'https')}"
    )


def speaks_tls(url: str) -> str:
    """A plain-HTTP request answered with a TLS record (an alert)."""
    return f"the endpoint {url} answered in TLS; use {base(url, 'https')}"


def innermost(error: BaseException) -> BaseException:
    """The exception at the bottom of requests' and urllib3's wrappers (`reason`, `args`)."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in reversed(error.args) if isinstance(a, BaseException)), None)
        if inner is None:
            return error
        error = inner
    return error


def _ssl_words(text: str) -> str:
    """`[SSL: X] certificate verify failed: why (_ssl.c:1006)` -> `why`."""
    import re

    text = re.sub(r"^\[[A-Z0-9_: ]+\]\s*", "", text)
    text = re.sub(r"\s*\(_ssl\.c:\d+\)$", "", text)
    return text.removeprefix("certificate verify failed: ") or "unknown reason"
