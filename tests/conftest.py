"""Shared fixtures: real controller processes on free loopback ports, and official SDK clients."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pgtest
import pytest

# A test never inherits a developer's credentials, profile or proxy (ASSIST_TEST_* say where
# the tests' own PostgreSQL is, see pgtest.py).
for _name in list(os.environ):
    inherited = _name.startswith(("ALIBABA_CLOUD_", "ASSIST_", "AGENTD_"))
    if (inherited and not _name.startswith("ASSIST_TEST_")) or _name.lower().endswith("_proxy"):
        del os.environ[_name]

REGION = "cn-hangzhou"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("sqlite_only") and pgtest.postgres_mode():
        pytest.skip("reads the controller's SQLite file; its store is PostgreSQL here")


# The fault and fuzz suites drive real processes with the e2e suite's clients and helpers.
sys.path.insert(0, str(Path(__file__).parent / "e2e"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(*args: str) -> str:
    """Run `assistcli ARGS` in a subprocess and return its stdout (raises on failure)."""
    done = subprocess.run(
        [sys.executable, "-m", "assistcli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"assistcli {' '.join(args)} failed: {done.stderr}")
    return done.stdout


@dataclass
class Controller:
    """A real `assistcli controller serve` process and an access key for it."""

    data_dir: Path
    port: int
    extra_args: tuple[str, ...] = ()
    store: str | None = None  # --store URL; None: SQLite in data_dir
    shared: bool = False  # the session's: runs until the session ends
    access_key_id: str = ""
    access_key_secret: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        """host:port, as the official SDKs take it."""
        return f"127.0.0.1:{self.port}"

    @property
    def tls(self) -> bool:
        """Whether it serves HTTPS: given a certificate, or finding one in its data dir."""
        found = (self.data_dir / "tls" / "server.pem").exists()
        return "--tls-cert" in self.extra_args or (found and "--no-tls" not in self.extra_args)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def start(self) -> None:
        log = open(self.data_dir / "controller.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistcli",
                "controller",
                "serve",
                "--listen",
                self.endpoint,
                *self.store_args,
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"controller exited early:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"controller did not listen within {timeout}s:\n{self.log()}")

    @property
    def store_args(self) -> list[str]:
        """Where its state is, for `controller serve` and the admin commands."""
        return ["--data-dir", str(self.data_dir), *(["--store", self.store] if self.store else [])]

    def log(self) -> str:
        path = self.data_dir / "controller.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def create_access_key(self) -> None:
        out = run_cli("controller", "access-key", "create", *self.store_args)
        keys = json.loads(out)
        self.access_key_id = keys["AccessKeyId"]
        self.access_key_secret = keys["AccessKeySecret"]

    def kill(self) -> None:
        """kill -9: no chance to flush or clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self, *, hard: bool = True) -> None:
        self.kill() if hard else self.stop()
        self.start()

    def add_instance(self, instance_id: str | None = None, *, name: str = "test-host") -> str:
        """Register a managed instance directly in the store; returns its id (`mi-...`)."""
        args = ["controller", "instance", "add", *self.store_args, "--name", name]
        if instance_id:
            args += ["--instance-id", instance_id]
        return run_cli(*args).strip()


StartController = Callable[..., Controller]


_STARTED: list[Controller] = []  # running controllers, the session's own first


@pytest.fixture(scope="session")
def start_controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartController]:
    """Factory: start_controller(*extra_serve_args, store=URL) -> a running Controller with an
    access key (on SQLite in its data dir unless given a store URL), stopped at the end of the
    test module that started it."""

    def start(*extra_args: str, store: str | None = None) -> Controller:
        data_dir = tmp_path_factory.mktemp("controller")
        store = store or pgtest.store_for_tests(str(data_dir))
        ctl = Controller(data_dir, free_port(), tuple(extra_args), store)
        ctl.create_access_key()
        ctl.start()
        _STARTED.append(ctl)
        return ctl

    yield start
    for ctl in _STARTED:
        ctl.stop()


@pytest.fixture(autouse=True, scope="module")
def _stop_the_modules_controllers() -> Iterator[None]:
    """A module's controllers (its tests' and its module fixtures') end with it: processes,
    and connections to a shared database, do not pile up over the session."""
    before = len(_STARTED)
    yield
    for ctl in _STARTED[before:]:
        if not ctl.shared:
            ctl.stop()
    _STARTED[before:] = [ctl for ctl in _STARTED[before:] if ctl.shared]


@pytest.fixture(scope="session")
def controller(start_controller: StartController) -> Controller:
    """One controller shared by the session: tests must not assume it is empty."""
    ctl = start_controller()
    ctl.shared = True
    return ctl


# In process (tests/inprocess.py): the app around its own store, with no socket or process.
StartApp = Callable[..., Any]


@pytest.fixture(scope="module")
def start_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartApp]:
    """Factory: start_app(broker=..., clock=..., data_dir=..., **settings) -> a running
    InProcessController, on a store of its own unless given another's `data_dir`; stopped
    after the module's tests."""
    from inprocess import InProcessController

    with contextlib.ExitStack() as stack:

        def start(data_dir: Path | None = None, **options: Any) -> Any:
            data_dir = data_dir or tmp_path_factory.mktemp("app")
            return stack.enter_context(InProcessController.started(data_dir, **options))

        yield start


@pytest.fixture(scope="module")
def app_controller(start_app: StartApp) -> Any:
    """One in-process controller per module: tests must not assume it is empty."""
    return start_app()


@pytest.fixture
def core_client(controller: Controller) -> Any:
    """aliyun-python-sdk-core AcsClient (signature V1), pointed at the controller."""
    from aliyunsdkcore.client import AcsClient

    client = AcsClient(controller.access_key_id, controller.access_key_secret, REGION)
    client.add_endpoint(REGION, "Ecs", controller.endpoint)
    return client


def make_tea_client(ctl: Controller, *, v1: bool = False, secret: str | None = None) -> Any:
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi import utils_models as open_api_models

    cfg = open_api_models.Config(
        access_key_id=ctl.access_key_id,
        access_key_secret=secret or ctl.access_key_secret,
        region_id=REGION,
        endpoint=ctl.endpoint,
        protocol="http",
    )
    if v1:
        cfg.signature_algorithm = "v2"
    return Client(cfg)


@pytest.fixture
def tea_client(controller: Controller) -> Any:
    """alibabacloud-ecs20140526 Client with its default ACS3-HMAC-SHA256 (V3) signature."""
    return make_tea_client(controller)


@pytest.fixture
def tea_client_v1(controller: Controller) -> Any:
    """alibabacloud-ecs20140526 Client forced to the V1 HMAC-SHA1 query signature."""
    return make_tea_client(controller, v1=True)


def api(ctl: Any) -> Any:
    """The project's own signed client for `ctl`, a Controller or an in-process one."""
    from assistcli.client import ApiClient

    transport = getattr(ctl, "transport", None)  # in process: straight to its app
    return ApiClient(ctl.url, ctl.access_key_id, ctl.access_key_secret, transport=transport)


def wait_for(condition: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


@dataclass
class Agent:
    """A real `agentd run` process registered with a controller."""

    ctl: Controller
    state_dir: Path
    instance_id: str
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        log = open(self.state_dir / "agentd.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentd",
                "run",
                "--state-dir",
                str(self.state_dir),
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        log.close()
        wait_for(self.connected, what=f"agent {self.instance_id} to poll")

    def connected(self) -> bool:
        status = api(self.ctl).call(
            "DescribeCloudAssistantStatus", {"InstanceId": [self.instance_id]}
        )
        rows = status["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"]
        return bool(rows) and rows[0]["CloudAssistantStatus"] == "true" and self.running()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        path = self.state_dir / "agentd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def end_left_runs(self) -> None:
        """End what the runs of a killed agent left running (a test that failed midway leaves
        scripts waiting for a gate), as a restarted agent would."""
        from agentd.executor import abandon
        from agentd.outbox import Ledger

        with contextlib.suppress(OSError):  # a state dir on a disk the test took away
            ledger = Ledger(self.state_dir / "ledger")
            for key in ledger.unfinished():
                abandon(ledger.record(key))

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=timeout)


def create_activation(ctl: Controller, **params: Any) -> tuple[str, str]:
    """CreateActivation; returns (ActivationId, ActivationCode)."""
    body = api(ctl).call("CreateActivation", params)
    return str(body["ActivationId"]), str(body["ActivationCode"])


def register(
    ctl: Controller, activation_id: str, code: str, state_dir: Path, name: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`agentd register ...` as a subprocess (its exit code, stdout and stderr)."""
    argv = [sys.executable, "-m", "agentd", "register", "--server", ctl.url]
    argv += ["--activation-id", activation_id, "--activation-code", code]
    argv += ["--state-dir", str(state_dir), *(["--name", name] if name else [])]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


StartAgent = Callable[..., Agent]


@pytest.fixture
def agents() -> Iterator[list[Agent]]:
    """Agents a test started itself, killed afterwards with what their runs left."""
    started: list[Agent] = []
    yield started
    for agent in started:
        agent.kill()
        agent.end_left_runs()


@pytest.fixture
def start_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartAgent]:
    """Factory: start_agent(ctl, *run_args, name=None, env=None) -> a registered, polling agent."""
    started: list[Agent] = []

    def start(
        ctl: Controller,
        *extra_args: str,
        name: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Agent:
        state_dir = tmp_path_factory.mktemp("agent")
        activation_id, code = create_activation(ctl, InstanceName="test", InstanceCount=1)
        done = register(ctl, activation_id, code, state_dir, name)
        assert done.returncode == 0, done.stderr
        agent = Agent(ctl, state_dir, done.stdout.strip(), tuple(extra_args), dict(env or {}))
        agent.start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.kill()
        agent.end_left_runs()


@pytest.fixture(scope="module")
def python38(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The agent's oldest Python, as a bare machine runs it (tests/e2e/old_python.py)."""
    from old_python import find_python

    python = find_python("3.8", tmp_path_factory.mktemp("probe"))
    if python is None:
        pytest.skip("no Python 3.8 (python3.8 on PATH or under pyenv), the agent's oldest Python")
    return python
