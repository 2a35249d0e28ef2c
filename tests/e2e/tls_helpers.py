"""A private CA for tests, made by `assistcli controller tls init`, and controllers serving
HTTPS with it (Controller.url is then https://)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from conftest import Controller, StartController, run_cli


@dataclass(frozen=True)
class Pki:
    folder: Path  # the data dir `tls init` was given; the files are in folder/tls/
    fingerprint: str  # sha256:<hex> of the CA

    @property
    def ca(self) -> Path:
        return self.folder / "tls" / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "tls" / "server.pem"

    @property
    def key(self) -> Path:
        return self.folder / "tls" / "server-key.pem"


def make_pki(folder: Path, *hosts: str) -> Pki:
    """A CA and a server certificate for `hosts` (default: 127.0.0.1 and localhost)."""
    names = [arg for host in hosts or ("127.0.0.1", "localhost") for arg in ("--host", host)]
    out = run_cli("controller", "tls", "init", "--data-dir", str(folder), *names)
    found = re.search(r"sha256:[0-9a-f]{64}", out)
    assert found, out
    return Pki(folder, found[0])


def start_https_controller(start_controller: StartController, pki: Pki, *args: str) -> Controller:
    return start_controller("--tls-cert", str(pki.cert), "--tls-key", str(pki.key), *args)


def start_publishing_controller(start_controller: StartController) -> tuple[Controller, Pki]:
    """A controller serving HTTPS with the CA `tls init` left in its data dir, for 127.0.0.1
    only (not localhost); it publishes that CA for agents that pin its fingerprint."""
    ctl = start_controller("--no-tls")
    pki = make_pki(ctl.data_dir, "127.0.0.1")
    ctl.extra_args = ()
    ctl.restart()
    return ctl, pki
