"""CLI start-up: `assistcli --help`, an action's help and a round trip, against `import click`.

    python tests/bench/bench_startup.py [--runs 21]

Every command runs as a fresh process, as a shell script runs it. Runs are interleaved (one of
each case per round) so that machine noise hits every case alike, and the medians are compared
with a bare `python -c "import click"` measured in the same rounds. Bytecode is cached in a
temporary PYTHONPYCACHEPREFIX (as after `pip install`, which compiles it), never in the tree.
Targets (wall-clock medians): `--help` at most 1.5x `import click`; a Describe call to a local
controller, signed and sent over loopback, under 100 ms. CPU time (user + system of the child)
is shown too: it moves less than wall time when other work loads the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/ for conftest's helpers
sys.path.insert(0, str(Path(__file__).parents[2]))  # the project, when run from anywhere

from conftest import Controller, free_port

from assistcli.config import ConfigFile, Profile

HELP_RATIO_TARGET = 1.5
ROUND_TRIP_TARGET_MS = 100.0


def cases() -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "assistcli"]
    return {
        'python -c "pass"': [sys.executable, "-c", "pass"],
        'python -c "import click"': [sys.executable, "-c", "import click"],
        "assistcli --help": [*cli, "--help"],
        "assistcli ecs InvokeCommand --help": [*cli, "ecs", "InvokeCommand", "--help"],
        "assistcli ecs DescribeInvocations (round trip)": [
            *cli,
            "ecs",
            "DescribeInvocations",
            "--PageSize",
            "1",
        ],
    }


def environment(scratch: Path, ctl: Controller) -> dict[str, str]:
    """A clean home with one profile pointing at `ctl`; bytecode cached under `scratch`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ALIBABA_CLOUD_", "ALIBABACLOUD_", "ALICLOUD_", "ASSIST_"))
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env |= {
        "HOME": str(scratch / "home"),
        "ASSIST_CONFIG_DIR": str(scratch / "config"),
        "ASSIST_DATA_DIR": str(scratch / "data"),
        "PYTHONPYCACHEPREFIX": str(scratch / "pycache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    config = ConfigFile(path=scratch / "config" / "config.json")
    config.put(
        Profile(
            name="default",
            access_key_id=ctl.access_key_id,
            access_key_secret=ctl.access_key_secret,
            region_id="cn-hangzhou",
            endpoint=ctl.endpoint,
        )
    )
    config.save()
    return env


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one run."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode()}")
    return elapsed * 1000, (_children_cpu() - cpu_before) * 1000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(runs: int, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) milliseconds per case."""
    commands = cases()
    for command in commands.values():  # warm up: compile bytecode, fill the page cache
        for _ in range(3):
            run_once(command, env)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(run_once(command, env))
    return {
        name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in samples.items()
    }


def report(medians: dict[str, tuple[float, float]], runs: int) -> bool:
    click_ms = medians['python -c "import click"'][0]
    load = os.getloadavg()[0]
    python = sys.version.split()[0]
    print(f"medians of {runs} runs, Python {python}, {os.cpu_count()} CPUs, load {load:.2f}")
    print("| command | wall ms | CPU ms | wall / import click |")
    print("|---|---:|---:|---:|")
    for name, (wall, cpu) in medians.items():
        print(f"| `{name}` | {wall:.1f} | {cpu:.1f} | {wall / click_ms:.2f} |")
    help_ratio = medians["assistcli --help"][0] / click_ms
    round_trip = medians["assistcli ecs DescribeInvocations (round trip)"][0]
    help_ok = help_ratio <= HELP_RATIO_TARGET
    trip_ok = round_trip < ROUND_TRIP_TARGET_MS
    verdict = {True: "ok", False: "MISSED"}
    print(f"--help: {help_ratio:.2f}x import click (target <= {HELP_RATIO_TARGET}x): ", end="")
    print(verdict[help_ok])
    print(f"round trip: {round_trip:.1f} ms (target < {ROUND_TRIP_TARGET_MS:.0f} ms): ", end="")
    print(verdict[trip_ok])
    return help_ok and trip_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        ctl = Controller(Path(scratch) / "controller", free_port())
        ctl.data_dir.mkdir()
        ctl.create_access_key()
        ctl.start()
        try:
            medians = measure(runs, environment(Path(scratch), ctl))
        finally:
            ctl.stop()
    return 0 if report(medians, runs) else 1


if __name__ == "__main__":
    sys.exit(main())
