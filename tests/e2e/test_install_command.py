"""`assistcli controller install-command`: the one line that installs an agent on a new machine.
Its pin is the one `curl --pinnedpubkey` checks against the real HTTPS controller, and the whole
line, run by a shell, downloads the one-file agent and registers it (here below a scratch root:
a `sudo` stand-in adds `--root`)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import StartController, create_activation, free_port, run_cli
from tls_helpers import start_publishing_controller

pytestmark = pytest.mark.e2e

SUDO = '#!/bin/sh\nexec "$@" --root "$INSTALL_ROOT"\n'


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    argv = ["curl", "-fsS", "--insecure", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def run_as_a_new_machine(line: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the line with a shell, as on a machine that trusts nothing of the test's, installing
    below tmp_path/root (a `sudo` stand-in adds `--root`)."""
    bin_dir, root = tmp_path / "bin", tmp_path / "root"
    bin_dir.mkdir()
    root.mkdir()
    (bin_dir / "sudo").write_text(SUDO)
    (bin_dir / "sudo").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "REQUESTS_CA_BUNDLE"}  # a new machine's
    env |= {"PATH": f"{bin_dir}:{os.environ['PATH']}", "INSTALL_ROOT": str(root)}
    env["TMPDIR"] = str(tmp_path)  # where mktemp makes the download's directory
    argv = ["sh", "-c", line]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_line_pins_the_controller_and_installs_an_agent(
    start_controller: StartController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctl, pki = start_publishing_controller(start_controller)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))  # the test's API calls trust it
    activation_id, code = create_activation(ctl, InstanceName="box", InstanceCount=1)
    args = ["--server", ctl.url, "--activation-id", activation_id, "--activation-code", code]
    line = run_cli("controller", "install-command", *args, "--data-dir", str(ctl.data_dir))
    assert line.count("\n") == 1 and line.endswith("\n")
    server = ctl.url.rstrip("/")
    assert f" {server}/agent/v1/download/agentd.pyz && " in line
    assert f"install --server {server} --activation-id {activation_id}" in line
    assert line.rstrip().endswith(f"--ca-fingerprint {pki.fingerprint}")

    found = re.search(r"--pinnedpubkey (sha256//\S+)", line)
    assert found, line
    ca_url = f"{server}/agent/v1/ca.pem"
    pinned = curl("--pinnedpubkey", found[1], ca_url)
    assert pinned.returncode == 0 and pinned.stdout == pki.ca.read_text(), pinned.stderr
    other = "sha256//" + base64.b64encode(bytes(32)).decode()
    assert curl("--pinnedpubkey", other, ca_url).returncode == 90  # the key does not match

    done = run_as_a_new_machine(line, tmp_path)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "root"
    identity = json.loads((root / "var/lib/agentd/agent.json").read_text())
    assert identity["instance_id"].startswith("mi-")
    assert (root / "etc/systemd/system/agentd.service").is_file()


def test_the_line_for_several_controllers_installs_from_the_first_that_answers(
    start_controller: StartController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctl, pki = start_publishing_controller(start_controller)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))
    activation_id, code = create_activation(ctl, InstanceName="box", InstanceCount=1)
    down, up = f"https://127.0.0.1:{free_port()}", ctl.url.rstrip("/")  # nothing listens on down
    args = ["--server", down, "--server", up, "--activation-id", activation_id]
    line = run_cli(
        "controller", "install-command", *args, "--activation-code", code,
        "--data-dir", str(ctl.data_dir),
    )  # fmt: skip
    assert f"{down}/agent/v1/download/agentd.pyz || curl " in line
    assert f"install --server {down} --server {up} --activation-id" in line
    done = run_as_a_new_machine(line, tmp_path)
    assert done.returncode == 0, done.stderr
    identity = json.loads((tmp_path / "root/var/lib/agentd/agent.json").read_text())
    assert identity["servers"] == [down, up]


def test_a_fleet_is_all_https_or_all_plain_http() -> None:
    args = ["--server", "http://a:1", "--server", "https://b:2"]
    done = subprocess.run(
        [sys.executable, "-m", "assistcli", "controller", "install-command", *args,
         "--activation-id", "A", "--activation-code", "C"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "every server of a fleet is https:// or none is" in done.stderr


def test_a_plain_http_server_gets_a_line_without_pins_and_a_warning() -> None:
    args = ["--server", "http://127.0.0.1:8742/", "--activation-id", "A", "--activation-code", "C"]
    done = subprocess.run(
        [sys.executable, "-m", "assistcli", "controller", "install-command", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--insecure" not in done.stdout and "--pinnedpubkey" not in done.stdout
    assert "--ca-fingerprint" not in done.stdout
    assert "install --server http://127.0.0.1:8742 --activation-id A" in done.stdout
    assert done.stderr.startswith("WARNING: http://127.0.0.1:8742 is plain HTTP")


def test_an_https_server_needs_the_controller_s_tls_files(tmp_path: Path) -> None:
    args = ["--server", "https://ctl:8742", "--activation-id", "A", "--activation-code", "C"]
    done = subprocess.run(
        [sys.executable, "-m", "assistcli", "controller", "install-command", *args],
        env={**os.environ, "ASSIST_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"ERROR: {tmp_path}/tls/server.pem does not exist" in done.stderr
