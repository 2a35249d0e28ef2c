"""The controller serves HTTPS with a certificate from `controller tls init`: given one, or by
default when its data dir holds one; it publishes its CA for agents that pin it."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from conftest import StartController, free_port
from tls_helpers import make_pki, start_https_controller

pytestmark = pytest.mark.e2e


def test_serves_https_with_the_given_certificate_and_publishes_its_ca(
    start_controller: StartController, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    ctl = start_https_controller(start_controller, pki)
    assert ctl.url.startswith("https://")
    assert requests.get(f"{ctl.url}healthz", verify=str(pki.ca), timeout=10).json() == {
        "Status": "ok"
    }
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{ctl.url}healthz", timeout=10)  # the system's CAs do not know it
    # Given a certificate from elsewhere, it publishes none of its own.
    published = requests.get(f"{ctl.url}agent/v1/ca.pem", verify=str(pki.ca), timeout=10)
    assert published.status_code == 404
    assert published.json()["Code"] == "InvalidAction.NotFound"


def test_serves_https_by_default_from_its_data_dir(
    start_controller: StartController, tmp_path: Path
) -> None:
    ctl = start_controller("--no-tls")  # a data dir of its own; it serves HTTP, then HTTPS
    assert ctl.url.startswith("http://")
    pki = make_pki(ctl.data_dir)
    ctl.extra_args = ()
    ctl.restart()
    assert ctl.url.startswith("https://")
    published = requests.get(f"{ctl.url}agent/v1/ca.pem", verify=str(pki.ca), timeout=10)
    assert published.content == pki.ca.read_bytes()
    assert ssl.PEM_cert_to_DER_cert(published.text)  # a certificate, as the agent reads it
    ctl.extra_args = ("--no-tls",)
    ctl.restart()
    assert requests.get(f"{ctl.url}healthz", timeout=10).json() == {"Status": "ok"}


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    argv = [sys.executable, "-m", "assistcli", "controller", "serve", "--data-dir", str(tmp_path)]
    argv += ["--listen", f"127.0.0.1:{free_port()}", "--tls-cert", str(pki.cert)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--tls-cert and --tls-key go together" in done.stderr
