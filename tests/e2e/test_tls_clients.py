"""Every API client trusts the controller's private CA. Each snippet of docs/tls.md runs here
against real HTTPS controllers (the doc's names, ports and paths swapped for the lab's), each
client fails clearly without the CA, and no error shows the signed request."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import certifi
import pytest
from aliyunsdkcore.acs_exception.exceptions import ClientException
from conftest import REGION, Controller, StartController
from darabonba.exceptions import UnretryableException
from test_cli_support import Cli
from tls_helpers import make_pki, start_https_controller

from assistcli.config import ConfigFile, Profile

pytest_plugins = ["test_cli_support"]  # the cli fixture: a temporary home
pytestmark = [
    pytest.mark.e2e,
    # The core SDK's vendored urllib3 uses ssl calls Python deprecated; nothing to act on here.
    pytest.mark.filterwarnings("ignore:ssl.*deprecated:DeprecationWarning"),
]

DOC = Path(__file__).parents[2] / "docs" / "tls.md"
DOC_CA = "/etc/assist/ca.pem"
UNREACHABLE = 5


def snippets(language: str, containing: str = "") -> list[str]:
    """The doc's fenced blocks in `language` that contain `containing`."""
    found = re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(), flags=re.M | re.S)
    found = [block for block in found if containing in block]
    assert found, f"docs/tls.md has no {language} block with {containing!r}"
    return found


@dataclass(frozen=True)
class Lab:
    ca: Path
    https: Controller  # a certificate for 127.0.0.1 and localhost
    mismatched: Controller  # the same CA, a certificate for ctl.example.net only
    plain: Controller  # plain HTTP

    def localize(self, text: str) -> str:
        """`text` with the doc's names, ports and paths replaced by the lab's."""
        for doc, real in (
            ("ctl.example.net:8742", f"127.0.0.1:{self.https.port}"),
            ("ctl.example.net:8080", f"127.0.0.1:{self.plain.port}"),
            ("10.0.0.5:8742", f"127.0.0.1:{self.mismatched.port}"),
            ("10.0.0.5", "127.0.0.1"),
            (DOC_CA, str(self.ca)),
        ):
            text = text.replace(doc, real)
        return text


@pytest.fixture(scope="module")
def lab(
    start_controller: StartController,
    controller: Controller,
    tmp_path_factory: pytest.TempPathFactory,
) -> Lab:
    folder = tmp_path_factory.mktemp("pki")
    pki = make_pki(folder)
    kept = folder / "kept"
    kept.mkdir()
    cert, key = shutil.copy(pki.cert, kept), shutil.copy(pki.key, kept)
    # `tls init` again keeps the CA and issues a certificate for other names.
    assert make_pki(folder, "ctl.example.net").fingerprint == pki.fingerprint
    https = start_controller("--tls-cert", str(cert), "--tls-key", str(key))
    return Lab(pki.ca, https, start_https_controller(start_controller, pki), controller)


@pytest.fixture
def env(cli: Cli, lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A temporary home, the HTTPS controller's key in the environment, no CA variables, and
    `assistcli` on PATH for the doc's shell lines."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", lab.https.access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", lab.https.access_key_secret)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return cli


@pytest.fixture
def fresh_tea() -> Iterator[None]:
    """The Tea SDK's per-host TLS setup, new for the test: it keeps what the first call set."""
    from darabonba.core import DaraCore

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DaraCore, "_sessions", {})
        yield


def shell(line: str) -> subprocess.CompletedProcess[str]:
    argv = ["bash", "-euo", "pipefail", "-c", line]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def run_python(source: str) -> str:
    """Run a doc snippet; its stdout."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, str(DOC), "exec"), {})
    return printed.getvalue()


def failed(cli: Cli, *args: str) -> str:
    """The one-line error of an unreachable call."""
    result = cli(*args)
    assert result.exit_code == UNREACHABLE, (result.stdout, result.stderr)
    assert "Signature=" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("ERROR: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


# --------------------------------------------------------------------------- the doc's snippets


def test_cli_snippets_trust_the_ca_by_flag_variable_and_profile(env: Cli, lab: Lab) -> None:
    keys = (lab.https.access_key_id, lab.https.access_key_secret)
    ctl = Profile(name="ctl", access_key_id=keys[0], access_key_secret=keys[1], region_id=REGION)
    ctl.endpoint = lab.https.url
    env.save_profile(ctl, current=False)
    calls = 0
    for block in snippets("sh"):
        for line in lab.localize(block).splitlines():
            done = shell(line)
            assert done.returncode == 0, (line, done.stderr)
            if " ecs " in line:
                assert '"RequestId"' in done.stdout, line
                calls += 1
    assert calls == 3
    stored = ConfigFile.load(env.config_file).get("ctl")
    assert stored is not None and stored.ca_bundle == str(lab.ca)


def transcript(block: str) -> list[tuple[str, str]]:
    """`$ command` lines and the output printed after each."""
    parts = re.split(r"^\$ (.*)\n", block, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def test_cli_errors_and_warnings_read_as_the_doc_shows(env: Cli, lab: Lab) -> None:
    shown = [step for block in snippets("console") for step in transcript(lab.localize(block))]
    assert len(shown) == 5
    for command, expected in shown:
        done = shell(command)
        assert done.stderr + done.stdout == expected, command
        assert done.returncode == (UNREACHABLE if expected.startswith("ERROR") else 0)
        assert "Signature=" not in done.stderr


@pytest.mark.parametrize("index", range(len(snippets("python"))))
def test_sdk_snippets_call_over_https(env: Cli, lab: Lab, fresh_tea: None, index: int) -> None:
    assert "RequestId" in run_python(lab.localize(snippets("python")[index]))


# --------------------------------------------------------------------------- the SDKs without it


def test_the_core_sdk_without_the_ca_fails_and_reads_its_own_variable(
    env: Cli, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = lab.localize(snippets("python", "AcsClient")[0])
    without = source.replace(f'    verify="{lab.ca}",\n', "")
    assert without != source
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(lab.ca))  # requests' variable, not the SDK's
    with pytest.raises(ClientException) as failure:
        run_python(without)
    assert failure.value.get_error_code() == "SDK.HttpError"
    assert "CERTIFICATE_VERIFY_FAILED" in failure.value.get_error_msg()
    monkeypatch.setenv("ALIBABA_CLOUD_CA_BUNDLE", str(lab.ca))
    assert "RequestId" in run_python(without)


def test_the_tea_sdk_without_the_ca_fails(env: Cli, lab: Lab, fresh_tea: None) -> None:
    source = lab.localize(snippets("python", "ca=")[0])
    without = source.replace(f'        ca="{lab.ca}",\n', "")
    assert without != source
    with pytest.raises(UnretryableException) as failure:
        run_python(without)
    assert "CERTIFICATE_VERIFY_FAILED" in str(failure.value)


def test_the_tea_sdk_skips_checks_for_one_call(env: Cli, lab: Lab, fresh_tea: None) -> None:
    source = lab.localize(snippets("python", "RuntimeOptions(ca=")[0])
    skipping = source.replace(f'RuntimeOptions(ca="{lab.ca}")', "RuntimeOptions(ignore_ssl=True)")
    assert skipping != source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # urllib3's InsecureRequestWarning
        assert "RequestId" in run_python(skipping)


# --------------------------------------------------------------------------- assistcli's bundle


def test_the_flag_beats_the_variable_which_beats_the_profile(
    env: Cli, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = certifi.where()  # a real bundle without the lab's CA
    profile = Profile(name="ctl", access_key_id=lab.https.access_key_id, region_id=REGION)
    profile.access_key_secret, profile.endpoint = lab.https.access_key_secret, lab.https.url
    profile.ca_bundle = other
    env.save_profile(profile)
    call = ("ecs", "DescribeCommands")
    assert f"the CA bundle {other} (from profile 'ctl')" in failed(env, *call)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(lab.ca))  # below the profile
    assert "(from profile 'ctl')" in failed(env, *call)
    monkeypatch.setenv("ASSIST_CA_BUNDLE", str(lab.ca))
    env.ok(*call)
    assert "(from --ca-bundle)" in failed(env, *call, "--ca-bundle", other)
    monkeypatch.setenv("ASSIST_CA_BUNDLE", other)
    assert "(from $ASSIST_CA_BUNDLE)" in failed(env, *call)
    env.ok(*call, "--ca-bundle", str(lab.ca))


def test_requests_own_variable_keeps_working(
    env: Cli, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(lab.ca))
    env.ok("ecs", "DescribeCommands", "--endpoint", lab.https.url)


def test_an_unusable_bundle_is_a_configuration_error(
    env: Cli, lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = ("ecs", "DescribeCommands", "--endpoint", lab.https.url)
    missing = tmp_path / "missing.pem"
    result = env(*call, "--ca-bundle", str(missing))
    assert result.exit_code == 4
    expected = f"cannot use the CA bundle {missing} (from --ca-bundle): No such file or directory"
    assert result.stderr == f"ERROR: {expected}\n"
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    monkeypatch.setenv("ASSIST_CA_BUNDLE", str(empty))
    result = env(*call)
    assert result.exit_code == 4
    assert "(from $ASSIST_CA_BUNDLE): it holds no PEM certificate" in result.stderr


def test_configure_stores_shows_and_clears_the_bundle(
    env: Cli, lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = ["--access-key-id", lab.https.access_key_id, "--access-key-secret", "-"]
    secret = lab.https.access_key_secret + "\n"
    result = env("configure", "set", *keys, "--ca-bundle", str(tmp_path / "nope.pem"), input=secret)
    assert result.exit_code == 4 and "cannot use the CA bundle" in result.stderr
    monkeypatch.chdir(lab.ca.parent)
    env.ok(
        "configure",
        "set",
        *keys,
        "--endpoint",
        lab.https.url,
        "--ca-bundle",
        "ca.pem",
        input=secret,
    )
    assert env.ok("configure", "get", "ca-bundle").stdout == f"ca-bundle={lab.ca}\n"
    assert env.json("configure", "get")["ca_bundle"] == str(lab.ca)
    header, _, row = (line.split("|") for line in env.ok("configure", "list").stdout.splitlines())
    assert [header[-1].strip(), row[-1].strip()] == ["CA Bundle", str(lab.ca)]
    env.ok("ecs", "DescribeCommands")
    env.ok("configure", "set", "--ca-bundle", "")
    assert "CA Bundle" not in env.ok("configure", "list").stdout
    assert "not trusted by the default CA store" in failed(env, "ecs", "DescribeCommands")


def test_waiter_and_pager_fail_the_same_way(env: Cli, lab: Lab) -> None:
    call = ("ecs", "DescribeCommands", "--endpoint", lab.https.url)
    plain = failed(env, *call)
    assert failed(env, *call, "--waiter", "expr=PageSize", "to=1") == plain
    assert failed(env, *call, "--pager") == plain
    assert "--ca-bundle FILE" in plain


def test_the_mismatch_names_a_host_too(env: Cli, lab: Lab) -> None:
    url = f"https://localhost:{lab.mismatched.port}/"
    stderr = failed(env, "ecs", "DescribeCommands", "--endpoint", url, "--ca-bundle", str(lab.ca))
    assert "Hostname mismatch, certificate is not valid for 'localhost'" in stderr
    assert "`assistcli controller tls init --host localhost`" in stderr


def test_skipping_checks_warns_on_every_call(env: Cli, lab: Lab) -> None:
    call = ("ecs", "DescribeCommands", "--endpoint", lab.https.url, "--skip-secure-verify")
    for _ in range(2):
        result = env.ok(*call)
        assert result.stderr.startswith("WARNING: --skip-secure-verify: ")
        assert result.stderr.count("\n") == 1 and '"RequestId"' in result.stdout
