"""`assistcli controller tls init`: a private CA and a server certificate clients can verify."""

from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistcli.cli import main
from assistcli.controller import tls


def test_init_makes_a_ca_and_a_server_certificate_that_verifies(tmp_path: Path) -> None:
    files = tls.init(tmp_path, ["ctl.example", "127.0.0.1", "::1"])
    assert stat.S_IMODE(files.folder.stat().st_mode) == 0o700
    for key in (files.ca_key, files.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # A client that trusts ca.pem accepts server.pem for each of its names.
    context = ssl.create_default_context(cafile=str(files.ca))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files.cert, files.key)
    for name in ("ctl.example", "127.0.0.1", "::1"):
        assert _handshake(context, server, name)
    assert not _handshake(context, server, "other.example")


def test_init_again_keeps_the_ca_and_reissues_the_server_certificate(tmp_path: Path) -> None:
    first = tls.init(tmp_path, ["a.example"])
    ca, cert = first.ca.read_bytes(), first.cert.read_bytes()
    again = tls.init(tmp_path, ["b.example"])
    assert again.ca.read_bytes() == ca  # agents that trust it keep trusting the controller
    assert again.cert.read_bytes() != cert
    assert tls.fingerprint(ca).startswith("sha256:") and len(tls.fingerprint(ca)) == 71


def test_a_planted_link_is_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "tls").mkdir(mode=0o700)
    os.symlink(victim, tmp_path / "tls" / "server-key.pem")
    tls.init(tmp_path, ["a.example"])
    assert victim.read_text() == "keep"
    assert not (tmp_path / "tls" / "server-key.pem").is_symlink()


@pytest.mark.parametrize("host", ["", "bad host", "-x.example", "a" * 64 + ".example", "é.example"])
def test_bad_hosts_are_refused(tmp_path: Path, host: str) -> None:
    with pytest.raises(ValueError):
        tls.init(tmp_path, [host])


def test_the_command_prints_the_ca_and_its_fingerprint(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        main, ["controller", "tls", "init", "--data-dir", str(tmp_path), "--host", "127.0.0.1"]
    )
    assert done.exit_code == 0, done.output
    ca = tmp_path / "tls" / "ca.pem"
    assert str(ca) in done.output
    assert tls.fingerprint(ca.read_bytes()) in done.output
    bad = CliRunner().invoke(
        main, ["controller", "tls", "init", "--data-dir", str(tmp_path), "--host", "no way"]
    )
    assert bad.exit_code == 2 and "not a host name" in bad.output


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext, name: str) -> bool:
    """One TLS handshake in memory: does the client accept the server as `name`?"""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    tls_client = client.wrap_bio(c_in, c_out, server_hostname=name)
    tls_server = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        try:
            tls_client.do_handshake()
            return True
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLCertVerificationError:
            return False
        s_in.write(c_out.read())
        try:
            tls_server.do_handshake()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError:
            return False
        c_in.write(s_out.read())
    return False
