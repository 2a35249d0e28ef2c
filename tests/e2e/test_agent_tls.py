"""agentd and a controller serving HTTPS with a private CA: trusted by file (`--ca-file`) or
pinned by fingerprint on first contact (`--ca-fingerprint`), kept in the state directory so
`agentd run` needs no flag; what goes wrong is told in one line with its own exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from agent_helpers import run_and_wait
from conftest import Agent, Controller, StartController, create_activation, wait_for
from tls_helpers import Pki, make_pki, start_https_controller, start_publishing_controller

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(start_controller: StartController) -> tuple[Controller, Pki]:
    return start_publishing_controller(start_controller)


@pytest.fixture(scope="module")
def https_ctl(served: tuple[Controller, Pki]) -> Controller:
    return served[0]


@pytest.fixture(scope="module")
def pki(served: tuple[Controller, Pki]) -> Pki:
    return served[1]


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Another CA, which signed nothing the controller serves."""
    return make_pki(tmp_path_factory.mktemp("other-pki"))


@pytest.fixture(autouse=True)
def api_trusts_the_ca(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' API client (requests) checks the controller against the test CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))


def agentd(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "agentd", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def register(
    ctl: Controller, state_dir: Path, *args: str, server: str = ""
) -> subprocess.CompletedProcess[str]:
    activation_id, code = create_activation(ctl, InstanceCount=1)
    return agentd(
        "register",
        "--server",
        server or ctl.url,
        "--activation-id",
        activation_id,
        "--activation-code",
        code,
        "--state-dir",
        str(state_dir),
        *args,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The error agentd printed: a single line, no traceback."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr.strip()


def test_register_with_a_ca_file_then_run_a_command_over_https(
    https_ctl: Controller, pki: Pki, tmp_path: Path, agents: list[Agent]
) -> None:
    state_dir = tmp_path / "agent"
    done = register(https_ctl, state_dir, "--ca-file", str(pki.ca))
    assert done.returncode == 0, done.stderr
    assert (state_dir / "ca.pem").read_bytes() == pki.ca.read_bytes()  # `run` needs no flag
    agent = Agent(https_ctl, state_dir, done.stdout.strip())
    agents.append(agent)
    agent.start()
    row = run_and_wait(https_ctl, agent.instance_id, "echo 123")
    assert (row["InvocationStatus"], row["Output"]) == ("Success", "123\n"), agent.log()


def test_register_pins_the_published_ca_by_its_fingerprint(
    https_ctl: Controller, pki: Pki, tmp_path: Path
) -> None:
    digest = pki.fingerprint.removeprefix("sha256:")
    # Upper case with colons between the bytes, as other tools print fingerprints.
    spelled = "SHA256:" + ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()
    done = register(https_ctl, tmp_path / "agent", "--ca-fingerprint", spelled)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "agent" / "ca.pem").read_bytes() == pki.ca.read_bytes()
    # Plain hex is accepted too.
    assert register(https_ctl, tmp_path / "plain", "--ca-fingerprint", digest).returncode == 0


def test_a_fingerprint_that_does_not_match_is_refused(
    https_ctl: Controller, pki: Pki, other_pki: Pki, tmp_path: Path
) -> None:
    done = register(https_ctl, tmp_path / "agent", "--ca-fingerprint", other_pki.fingerprint)
    assert done.returncode == 8, done.stderr
    message = one_line(done)
    assert f"expected {other_pki.fingerprint}, got {pki.fingerprint}" in message
    assert not (tmp_path / "agent" / "ca.pem").exists()
    assert not (tmp_path / "agent" / "agent.json").exists()
    malformed = register(https_ctl, tmp_path / "agent", "--ca-fingerprint", "sha256:abc")
    assert malformed.returncode == 2
    assert "is not sha256:<64 hex digits>" in one_line(malformed)


def test_a_ca_that_did_not_sign_the_certificate_is_refused(
    https_ctl: Controller, other_pki: Pki, tmp_path: Path
) -> None:
    done = register(https_ctl, tmp_path / "agent", "--ca-file", str(other_pki.ca))
    assert done.returncode == 6, done.stderr
    message = one_line(done)
    assert f"is not signed by the CA in {other_pki.ca}" in message
    assert "--ca-file or --ca-fingerprint choose the CA to trust" in message
    assert not (tmp_path / "agent" / "agent.json").exists()
    # Without a CA of its own, the system's trust store decides, and knows nothing of it.
    done = register(https_ctl, tmp_path / "agent")
    assert done.returncode == 6, done.stderr
    assert "is not signed by a CA this system trusts" in one_line(done)


def test_a_certificate_for_another_name_is_refused(
    https_ctl: Controller, pki: Pki, tmp_path: Path
) -> None:
    server = f"https://localhost:{https_ctl.port}"  # the certificate is for 127.0.0.1 only
    done = register(https_ctl, tmp_path / "agent", "--ca-file", str(pki.ca), server=server)
    assert done.returncode == 7, done.stderr
    assert one_line(done) == (
        f"agentd: the certificate of the controller at {server} is not valid for localhost; "
        "use a name it was issued for, or issue one for this name "
        "(assistcli controller tls init --host NAME)"
    )


def test_a_controller_that_publishes_no_ca_cannot_be_pinned(
    start_controller: StartController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = make_pki(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))
    ctl = start_https_controller(start_controller, pki)  # a certificate from elsewhere
    done = register(ctl, tmp_path / "agent", "--ca-fingerprint", pki.fingerprint)
    assert done.returncode == 8, done.stderr
    assert one_line(done) == (
        f"agentd: the controller at https://127.0.0.1:{ctl.port} publishes no CA at "
        "/agent/v1/ca.pem (HTTP 404); give its CA with --ca-file"
    )


def test_https_to_a_plain_http_controller_says_so(controller: Controller, tmp_path: Path) -> None:
    done = register(controller, tmp_path / "agent", server=f"https://{controller.endpoint}")
    assert done.returncode == 9, done.stderr
    assert one_line(done) == (
        f"agentd: the controller at https://{controller.endpoint} speaks plain HTTP; "
        f"use http://{controller.endpoint}"
    )


def test_http_to_an_https_controller_says_so(https_ctl: Controller, tmp_path: Path) -> None:
    done = register(https_ctl, tmp_path / "agent", server=f"http://{https_ctl.endpoint}")
    assert done.returncode == 10, done.stderr
    assert one_line(done) == (
        f"agentd: the controller at http://{https_ctl.endpoint} closed the connection without "
        f"an answer; if it serves HTTPS use https://{https_ctl.endpoint}"
    )


def test_run_logs_a_ca_that_does_not_check_out_and_keeps_trying(
    https_ctl: Controller, pki: Pki, other_pki: Pki, tmp_path: Path, agents: list[Agent]
) -> None:
    state_dir = tmp_path / "agent"
    done = register(https_ctl, state_dir, "--ca-file", str(pki.ca))
    assert done.returncode == 0, done.stderr
    (state_dir / "ca.pem").write_bytes(other_pki.ca.read_bytes())  # the kept CA changed since
    agent = Agent(https_ctl, state_dir, done.stdout.strip())
    agents.append(agent)
    with (state_dir / "agentd.log").open("ab") as log:
        argv = [sys.executable, "-m", "agentd", "run", "--state-dir", str(state_dir)]
        agent.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    expected = f"is not signed by the CA in {state_dir / 'ca.pem'}"
    wait_for(lambda: agent.log().count(expected) >= 2, 10, "two failed attempts in the log")
    assert "retrying in" in agent.log()
    assert "Traceback" not in agent.log()
    assert agent.stop() == 0, agent.log()
