"""An idle fleet: the controller's CPU and memory while 10,000 agents long-poll and nothing runs.

    python tests/bench/bench_idle_fleet.py [--agents 10000] [--seconds 60] [--poll-wait 300]
        [--keepalive 30]

Starts a controller on loopback and a simulated fleet (tests/bench/fleet.py) in this process:
every agent registers, then holds one long-poll open at a time (`--poll-wait` seconds each, as
agentd's default; `agents / poll-wait` polls a second come back empty), into which the
controller streams a newline every `--keepalive` seconds (its default). Once all are
connected and a short settling time has passed, the controller's CPU time (utime + stime from
/proc/<pid>/stat) is taken at the start and end of the window and its RSS sampled every second.
Targets: controller CPU under 5 % of one core and RSS under 1 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/ for conftest's helpers
sys.path.insert(0, str(Path(__file__).parent))

from bench_agent_idle import cpu_seconds, rss_kib
from conftest import Controller, free_port
from fleet import Fleet

from assistcli.api import agent as proto
from assistcli.controller.settings import AGENT_KEEPALIVE

CPU_TARGET, RSS_TARGET_MB = 5.0, 1024.0


async def measure(
    agents: int, seconds: float, poll_wait: float, keepalive: float, settle: float
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        ctl = Controller(Path(scratch), free_port(), ("--agent-keepalive", str(keepalive)))
        ctl.create_access_key()
        ctl.start()
        assert ctl.process is not None
        pid = ctl.process.pid
        fleet = Fleet(
            ctl.url, ctl.access_key_id, ctl.access_key_secret, agents, poll_wait=poll_wait
        )
        try:
            began = time.monotonic()
            await fleet.start()
            joined = time.monotonic() - began
            await asyncio.sleep(settle)
            polls, errors = fleet.counters.polls, fleet.counters.errors
            cpu_start, own_start = cpu_seconds(pid), time.process_time()
            opened, samples = time.monotonic(), []
            while (left := opened + seconds - time.monotonic()) > 0:
                samples.append(rss_kib(pid) / 1024)
                await asyncio.sleep(min(1.0, left))
            elapsed = time.monotonic() - opened
            figures = {
                "join_s": joined,
                "seconds": elapsed,
                "cpu_percent": 100 * (cpu_seconds(pid) - cpu_start) / elapsed,
                "rss_median_mb": statistics.median(samples),
                "rss_max_mb": max(samples),
                "polls_per_s": (fleet.counters.polls - polls) / elapsed,
                "errors": fleet.counters.errors - errors,
                "fleet_cpu_percent": 100 * (time.process_time() - own_start) / elapsed,
            }
        finally:
            await fleet.stop()
            ctl.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument(
        "--poll-wait", type=float, default=proto.POLL_WAIT, help="seconds a poll is held"
    )
    parser.add_argument(
        "--keepalive",
        type=float,
        default=AGENT_KEEPALIVE,
        help="seconds between keep-alive newlines (default: the controller's)",
    )
    parser.add_argument("--settle", type=float, default=5.0, help="pause before the window")
    args = parser.parse_args()
    f = asyncio.run(measure(args.agents, args.seconds, args.poll_wait, args.keepalive, args.settle))
    cpu_ok = "met" if f["cpu_percent"] < CPU_TARGET else "MISSED"
    rss_ok = "met" if f["rss_max_mb"] < RSS_TARGET_MB else "MISSED"
    print(
        f"{args.agents} idle agents (joined in {f['join_s']:.0f} s), polls of "
        f"{args.poll_wait:.0f} s with a newline every {args.keepalive:g} s, "
        f"over {f['seconds']:.0f} s: "
        f"{f['polls_per_s']:.0f} polls/s, {f['errors']:.0f} errors\n"
        f"controller CPU {f['cpu_percent']:.1f} % of one core "
        f"(target < {CPU_TARGET:.0f} %: {cpu_ok}); "
        f"RSS median {f['rss_median_mb']:.0f} MB, max {f['rss_max_mb']:.0f} MB "
        f"(target < {RSS_TARGET_MB:.0f} MB: {rss_ok}); "
        f"simulator CPU {f['fleet_cpu_percent']:.1f} %"
    )


if __name__ == "__main__":
    main()
