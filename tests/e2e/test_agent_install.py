"""`agentd install` below a root directory: it registers into ROOT/var/lib/agentd, installs the
agent and a systemd unit whose ExecStart really starts an agent that serves (run here by hand,
with its paths mapped into ROOT: systemd is not PID 1 in the tests), never writes through a
symbolic link it did not make, and `agentd uninstall` removes it all."""

from __future__ import annotations

import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from agent_helpers import run_and_wait
from conftest import Agent, Controller, StartController, create_activation, wait_for
from old_python import Machine, bare_env
from tls_helpers import start_publishing_controller

from assistcli.controller import agent_package

pytestmark = pytest.mark.e2e

UNIT = Path("etc/systemd/system/agentd.service")
STATE = Path("var/lib/agentd")
PROGRAM = Path("usr/local/lib/agentd/agentd.pyz")


def install_args(ctl: Controller, root: Path, *args: str) -> list[str]:
    activation_id, code = create_activation(ctl, InstanceName="box", InstanceCount=1)
    return [
        "install",
        "--root",
        str(root),
        "--server",
        ctl.url,
        "--activation-id",
        activation_id,
        "--activation-code",
        code,
        *args,
    ]


def agentd(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "agentd", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, cwd="/")


def exec_start(root: Path) -> list[str]:
    [line] = [x for x in (root / UNIT).read_text().splitlines() if x.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def in_root(root: Path, argv: list[str]) -> list[str]:
    """The unit's command line with the paths it names below / moved below ROOT."""
    ours = ("/var/lib/agentd", "/usr/local/lib/agentd/")
    return [f"{root}{word}" if word.startswith(ours) else word for word in argv]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@dataclass
class UnitAgent(Agent):
    """The unit's ExecStart, run from / with a bare environment, as systemd would."""

    argv: list[str] = field(default_factory=list)
    log_file: Path = Path()  # outside ROOT, so that uninstall leaves nothing of the test's

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, cwd="/", env=bare_env(Path("/")), stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self.connected, what=f"agent {self.instance_id} to poll")

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


@pytest.fixture(scope="module")
def installed(controller: Controller, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """agentd installed from this package below a root: (root, instance id)."""
    root = tmp_path_factory.mktemp("root")
    done = agentd(*install_args(controller, root, "--name", "box-1"))
    assert done.returncode == 0, done.stderr
    instance_id = done.stdout.splitlines()[0]
    assert instance_id.startswith("mi-"), done.stdout
    assert f"systemctl --root={root} enable agentd.service" in done.stdout
    return root, instance_id


def test_install_registers_into_the_root_and_writes_a_unit(installed: tuple[Path, str]) -> None:
    root, instance_id = installed
    assert mode(root / STATE) == 0o700
    assert f'"instance_id": "{instance_id}"' in (root / STATE / "agent.json").read_text()
    assert mode(root / STATE / "secret") == 0o600
    assert mode(root / UNIT) == 0o644
    unit = (root / UNIT).read_text()
    for line in (
        "Wants=network-online.target",
        "After=network-online.target",
        "Restart=on-failure",
        "RestartPreventExitStatus=3",
        "WantedBy=multi-user.target",
    ):
        assert line in unit.splitlines(), unit
    # Run from an installed package: this Python, by its absolute path, and the state
    # directory as the service sees it.
    assert exec_start(root) == [
        sys.executable,
        "-m",
        "agentd",
        "run",
        "--state-dir",
        "/var/lib/agentd",
    ]
    assert not (root / PROGRAM).exists()


def test_systemd_accepts_the_unit(installed: tuple[Path, str]) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # `verify --root=ROOT` would look for systemd's own units (sysinit.target) below ROOT;
    # given the file, it checks the unit, its ExecStart included, without a running systemd.
    root, _ = installed
    done = subprocess.run(
        [analyze, "verify", str(root / UNIT)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_units_command_line_starts_an_agent_that_serves(
    controller: Controller, installed: tuple[Path, str], agents: list[Agent]
) -> None:
    root, instance_id = installed
    argv = in_root(root, exec_start(root))
    log_file = root.parent / f"{root.name}.log"
    agent = UnitAgent(controller, root / STATE, instance_id, argv=argv, log_file=log_file)
    agents.append(agent)
    agent.start()
    row = run_and_wait(controller, instance_id, "echo 123")
    assert (row["InvocationStatus"], row["Output"]) == ("Success", "123\n"), agent.log()
    assert agent.stop() == 0, agent.log()


def test_install_again_keeps_the_identity(
    controller: Controller, installed: tuple[Path, str]
) -> None:
    root, instance_id = installed
    unit = (root / UNIT).read_bytes()
    done = agentd(*install_args(controller, root))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == instance_id
    assert "registered already; kept (--force registers again)" in done.stderr
    assert (root / UNIT).read_bytes() == unit


def test_uninstall_removes_what_install_wrote(controller: Controller, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/other.service").write_text("[Unit]\n")  # not ours
    assert agentd(*install_args(controller, root, "--no-start")).returncode == 0
    done = agentd("uninstall", "--root", str(root))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"removed {root / UNIT}\n"
    assert not (root / UNIT).exists()
    assert (root / "etc/systemd/system/other.service").exists()
    assert (root / STATE / "agent.json").exists()  # kept without --purge
    done = agentd("uninstall", "--root", str(root), "--purge")
    assert (done.returncode, done.stdout) == (0, f"removed {root / STATE}\n"), done.stderr
    assert not (root / STATE).exists()
    done = agentd("uninstall", "--root", str(root), "--purge")
    assert (done.returncode, done.stdout) == (
        0,
        "agentd is not installed here: nothing to remove\n",
    )


def test_install_never_writes_through_a_link_it_did_not_make(
    controller: Controller, tmp_path: Path
) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "etc/systemd/system").mkdir(parents=True)
    victim = elsewhere / "victim"
    victim.write_text("keep me\n")
    (root / UNIT).symlink_to(victim)  # a link where the unit goes is replaced, not followed
    assert agentd(*install_args(controller, root)).returncode == 0
    assert victim.read_text() == "keep me\n"
    assert not (root / UNIT).is_symlink() and "ExecStart=" in (root / UNIT).read_text()

    other = tmp_path / "other"
    (other / "var").mkdir(parents=True)
    (other / "var/lib").symlink_to(elsewhere)  # a link on the way is refused
    done = agentd(*install_args(controller, other))
    assert done.returncode == 11
    assert done.stderr == (
        f"agentd: cannot install: 'lib' in {other}/var/lib/agentd is a symbolic link\n"
    )
    assert list(elsewhere.iterdir()) == [victim]

    done = agentd(*install_args(controller, Path("relative/root")))
    assert (done.returncode, done.stderr) == (
        2,
        "agentd: --root relative/root is relative; give an absolute path\n",
    )


def test_the_one_file_agent_installs_itself_over_https_on_python38(
    python38: str,
    start_controller: StartController,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    agents: list[Agent],
) -> None:
    """As the one-line install command does: python3 agentd.pyz install --ca-fingerprint."""
    ctl, pki = start_publishing_controller(start_controller)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))
    pyz = tmp_path / "agentd.pyz"
    agent_package.write(pyz)
    root = tmp_path / "root"
    root.mkdir()
    machine = Machine(python38, tmp_path)
    args = install_args(ctl, root, "--ca-fingerprint", pki.fingerprint)
    done = machine.run(str(pyz), *args)
    assert done.returncode == 0, done.stderr
    instance_id = done.stdout.splitlines()[0]
    assert (root / PROGRAM).read_bytes() == pyz.read_bytes()
    assert mode(root / PROGRAM) == 0o755
    assert exec_start(root) == [
        python38,
        "/usr/local/lib/agentd/agentd.pyz",
        "run",
        "--state-dir",
        "/var/lib/agentd",
    ]
    assert (root / STATE / "ca.pem").read_bytes() == pki.ca.read_bytes()
    argv = in_root(root, exec_start(root))
    agent = UnitAgent(ctl, root / STATE, instance_id, argv=argv, log_file=tmp_path / "agentd.log")
    agents.append(agent)
    agent.start()
    row = run_and_wait(ctl, instance_id, "echo 123")
    assert (row["InvocationStatus"], row["Output"]) == ("Success", "123\n"), agent.log()
    assert agent.stop() == 0, agent.log()
    done = machine.run(str(pyz), "uninstall", "--root", str(root), "--purge")
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "etc",
        "etc/systemd",
        "etc/systemd/system",
        "usr",
        "usr/local",
        "usr/local/lib",
        "var",
        "var/lib",
    ]


def test_install_from_a_checkout_is_refused_before_registering(
    python38: str, tmp_path: Path
) -> None:
    """Run from a source tree, the package is importable only there: a unit that runs
    `python3 -m agentd` would fail with `No module named agentd`."""
    argv = [python38, "-m", "agentd", *install_args_offline(tmp_path)]
    checkout = Path(__file__).parents[2]
    done = subprocess.run(
        argv, cwd=checkout, env=bare_env(tmp_path), capture_output=True, text=True
    )
    assert done.returncode == 11, done.stderr
    assert "cannot import agentd outside this directory" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing registered, nothing written


def install_args_offline(root: Path) -> list[str]:
    """Arguments that would fail at the controller (nothing listens on port 9)."""
    server = ["--server", "http://127.0.0.1:9"]
    return [
        "install",
        "--root",
        str(root),
        *server,
        "--activation-id",
        "a",
        "--activation-code",
        "c",
    ]
