"""An idle agent's footprint: resident memory and CPU of `agentd run` over a quiet minute.

    python -m tests.bench.bench_agent_idle [--seconds 60]

Starts a controller and one registered agent on loopback, waits until the agent polls, then
samples the agent's RSS every second and its CPU time at the start and end of the window.
Target: under 25 MB RSS and under 0.5 % of one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/ for conftest's helpers

from conftest import Controller, api, create_activation, free_port, register, wait_for

TICKS = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def start_agent(ctl: Controller, state_dir: Path) -> subprocess.Popen[bytes]:
    activation_id, code = create_activation(ctl, InstanceCount=1)
    assert register(ctl, activation_id, code, state_dir).returncode == 0
    return subprocess.Popen(
        [sys.executable, "-m", "agentd", "run", "--state-dir", str(state_dir)],
        stderr=subprocess.DEVNULL,
    )


def measure(seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        ctl = Controller(Path(scratch) / "controller", free_port())
        ctl.data_dir.mkdir()
        ctl.create_access_key()
        ctl.start()
        agent = start_agent(ctl, Path(scratch) / "agent")
        try:
            status = lambda: api(ctl).call("DescribeCloudAssistantStatus", {})  # noqa: E731
            wait_for(
                lambda: any(
                    row["CloudAssistantStatus"] == "true"
                    for row in status()["InstanceCloudAssistantStatusSet"][
                        "InstanceCloudAssistantStatus"
                    ]
                ),
                what="the agent to poll",
            )
            time.sleep(2)  # let start-up settle before the window opens
            samples, cpu_start, started = [], cpu_seconds(agent.pid), time.monotonic()
            while time.monotonic() - started < seconds:
                samples.append(rss_kib(agent.pid))
                time.sleep(1)
            cpu = cpu_seconds(agent.pid) - cpu_start
            elapsed = time.monotonic() - started
        finally:
            agent.terminate()
            agent.wait(timeout=30)
            ctl.stop()
    return {
        "rss_median_mb": statistics.median(samples) / 1024,
        "rss_max_mb": max(samples) / 1024,
        "cpu_percent": 100 * cpu / elapsed,
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    figures = measure(parser.parse_args().seconds)
    print(
        f"agentd idle over {figures['seconds']:.0f} s: "
        f"RSS median {figures['rss_median_mb']:.1f} MB, max {figures['rss_max_mb']:.1f} MB; "
        f"CPU {figures['cpu_percent']:.3f} % of one core"
    )


if __name__ == "__main__":
    main()
