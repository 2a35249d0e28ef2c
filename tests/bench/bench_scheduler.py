"""The scheduler at scale: 10,000 active periodic invocations on one controller.

    python tests/bench/bench_scheduler.py [--count 10000] [--seconds 60]

Two runs on a real controller process, each with `count` Period invocations (one instance each,
100 instances, no agents):
- busy: every invocation fires once a minute, at seconds spread evenly over the minute
  (count/60 fires a second). Lateness = the moment the scheduler handled a fire (recorded with
  it) minus the moment it was due; CPU = the controller's over the window.
- idle: every invocation fires once a day, so nothing is due during the window; CPU only.
Targets: p99 lateness under 200 ms; idle CPU under 5 % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench_agent_idle import cpu_seconds
from conftest import Controller, free_port

from assistcli.controller.models import Instance, Invocation
from assistcli.controller.scheduler import arm
from assistcli.controller.store.sqlite import SqliteStore

INSTANCES = 100


async def prepare(db: Path, count: int, frequency_of: Callable[[int], str]) -> None:
    store = SqliteStore(db)
    await store.open()
    now = time.time()
    instances = [
        Instance(instance_id=f"mi-bench{i:04d}", instance_name=f"b{i}", registration_time=now)
        for i in range(INSTANCES)
    ]
    for instance in instances:
        await store.add_instance(instance)
    for i in range(count):
        invocation = Invocation(
            invoke_id=f"t-bench{i:06d}",
            command_id="c-bench",
            command_name="bench",
            command_type="RunShellScript",
            content=b"true",
            creation_time=now,
            repeat_mode="Period",
            frequency=frequency_of(i),
            timeout=10,
        )
        invocation.targets = arm(invocation, [instances[i % INSTANCES]], now)
        await store.insert_invocation(invocation)
    await store.close()


def window(count: int, seconds: float, frequency_of: Callable[[int], str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        ctl = Controller(Path(scratch), free_port(), ("--delivery-timeout", "3600"))
        started = time.monotonic()
        asyncio.run(prepare(Path(scratch) / "assist.db", count, frequency_of))
        prepared = time.monotonic() - started
        ctl.create_access_key()
        ctl.start()
        assert ctl.process is not None
        time.sleep(3)  # start-up and the first look at the schedules
        opened, cpu_start = time.time(), cpu_seconds(ctl.process.pid)
        time.sleep(seconds)
        cpu = cpu_seconds(ctl.process.pid) - cpu_start
        closed = time.time()
        ctl.stop()
        with sqlite3.connect(Path(scratch) / "assist.db") as db:
            late = [
                row[0] - row[1]
                for row in db.execute(
                    "SELECT handled_at, fire_time FROM fires WHERE fire_time BETWEEN ? AND ?",
                    (opened, closed),
                )
            ]
    figures = {"prepare_s": prepared, "cpu_percent": 100 * cpu / (closed - opened)}
    if late:
        late.sort()
        figures |= {
            "fires": len(late),
            "p50_ms": 1000 * statistics.median(late),
            "p99_ms": 1000 * late[int(0.99 * (len(late) - 1))],
            "max_ms": 1000 * late[-1],
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    busy = window(args.count, args.seconds, lambda i: f"{i % 60} * * * * *")
    print(
        f"busy: {args.count} invocations firing every minute ({args.count / 60:.0f}/s): "
        f"{busy.get('fires', 0):.0f} fires, lateness p50 {busy.get('p50_ms', 0):.1f} ms, "
        f"p99 {busy.get('p99_ms', 0):.1f} ms, max {busy.get('max_ms', 0):.1f} ms; "
        f"controller CPU {busy['cpu_percent']:.1f} % of one core"
    )
    idle = window(args.count, args.seconds, lambda i: f"{i % 60} {i % 60} {i % 24} * * *")
    print(
        f"idle: {args.count} daily invocations, none due: controller CPU "
        f"{idle['cpu_percent']:.2f} % of one core"
    )


if __name__ == "__main__":
    main()
