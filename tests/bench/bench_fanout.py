"""Fan-out: `echo 123` on N simulated instances, from the first InvokeCommand to the last result.

    python tests/bench/bench_fanout.py [--sizes 100,1000,10000] [--delay 0] [--repeat 1]
        [--json FILE]

For each N: a fresh controller on loopback and N simulated agents (tests/bench/fleet.py) in this
process, all registered and long-polling. CreateCommand `echo 123` once, then one InvokeCommand
per batch of 100 instance IDs (the API's limit), one after another on one keep-alive
connection. The clock starts just before the first InvokeCommand; the run ends when the
controller has acknowledged every instance's `finished` report. The controller's SQLite
database is read afterwards: a record's `update_time` is the controller's clock when it stored
the last report of the run, so per instance, latency = update_time - its invocation's
creation_time, and the fan-out time = the last update_time - the start. Every record must end
Success with output "123\\n".

Targets (2 cores shared by the controller and the simulator): 1,000 instances all finished
within 2 s; 10,000 within 15 s. A run is cut short after `--limit` seconds (then reported as
incomplete); the 10,000 run, with its registrations, takes about 5 minutes here today, so
`--sizes 100,1000` is the quick check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/ for conftest's helpers
sys.path.insert(0, str(Path(__file__).parent))

from bench_agent_idle import cpu_seconds
from conftest import Controller, free_port
from fleet import Fleet

BATCH = 100  # instance IDs per InvokeCommand
TARGETS = {1_000: 2.0, 10_000: 15.0}  # instances -> seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))]


def stored_results(db: Path, invoke_ids: list[str]) -> list[sqlite3.Row]:
    if not invoke_ids:
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        marks = ",".join("?" * len(invoke_ids))
        return conn.execute(
            "SELECT t.status, t.output, t.update_time, i.creation_time FROM targets t "
            f"JOIN invocations i ON i.invoke_id = t.invoke_id WHERE t.invoke_id IN ({marks})",
            invoke_ids,
        ).fetchall()


async def fan_out(size: int, delay: float, settle: float, limit: float) -> dict[str, Any]:
    """One run on a fresh controller with `size` agents; its figures."""
    with tempfile.TemporaryDirectory() as scratch:
        ctl = Controller(Path(scratch), free_port())
        ctl.create_access_key()
        ctl.start()
        assert ctl.process is not None
        fleet = Fleet(ctl.url, ctl.access_key_id, ctl.access_key_secret, size, delay=delay)
        try:
            joined = time.monotonic()
            await fleet.start()
            joined = time.monotonic() - joined
            await asyncio.sleep(settle)  # every agent back in a long-poll
            command = await fleet.api.call(
                "CreateCommand",
                {
                    "Name": "bench-echo",
                    "Type": "RunShellScript",
                    "CommandContent": "echo 123",
                    "ContentEncoding": "PlainText",
                },
            )
            ids, invoke_ids = fleet.instance_ids, []
            cpu, own = cpu_seconds(ctl.process.pid), time.process_time()
            started, deadline = time.time(), time.monotonic() + limit
            for first in range(0, size, BATCH):
                if time.monotonic() > deadline:
                    break  # reported as incomplete
                answer = await fleet.api.call(
                    "InvokeCommand",
                    {"CommandId": command["CommandId"], "InstanceId": ids[first : first + BATCH]},
                )
                invoke_ids.append(answer["InvokeId"])
            invoked = time.time() - started
            await fleet.wait_finished(size, max(0.0, deadline - time.monotonic()))
            waited = time.time() - started
            cpu, own = cpu_seconds(ctl.process.pid) - cpu, time.process_time() - own
            finished = fleet.counters.finished
        finally:
            await fleet.stop()
            ctl.stop()
        rows = stored_results(Path(scratch) / "assist.db", invoke_ids)
    done = [r for r in rows if r["status"] == "Success" and r["output"] == b"123\n"]
    latencies = [r["update_time"] - r["creation_time"] for r in done]
    last = max((r["update_time"] for r in done), default=started)
    return {
        "instances": size,
        "join_s": joined,
        "invoke_s": invoked,
        "fanout_s": last - started if len(done) == size else waited,
        "complete": len(done) == size,
        "finished": finished,
        "correct": len(done),
        "p50_ms": 1000 * percentile(latencies, 0.50) if latencies else None,
        "p99_ms": 1000 * percentile(latencies, 0.99) if latencies else None,
        "max_ms": 1000 * max(latencies) if latencies else None,
        "controller_cpu_s": cpu,
        "simulator_cpu_s": own,
        "errors": fleet.counters.errors,
    }


def verdict(figures: dict[str, Any]) -> str:
    target = TARGETS.get(figures["instances"])
    if target is None:
        return ""
    if figures["complete"] and figures["fanout_s"] <= target:
        return f"target {target:.0f} s: met"
    if not figures["complete"]:
        return f"target {target:.0f} s: MISSED (cut short at {figures['fanout_s']:.0f} s)"
    return f"target {target:.0f} s: MISSED by {figures['fanout_s'] - target:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated N")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each task 'runs'")
    parser.add_argument("--settle", type=float, default=2.0, help="pause after all connect")
    parser.add_argument(
        "--limit", type=float, default=300.0, help="seconds a run may take before it is cut short"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here (for plotting)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per N, each on a fresh controller (median)"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    runs = []
    for size in (int(n) for n in args.sizes.split(",")):
        tries = []
        for _ in range(args.repeat):
            tries.append(asyncio.run(fan_out(size, args.delay, args.settle, args.limit)))
            report(tries[-1])
        if args.repeat > 1:
            times = ", ".join(f"{t['fanout_s']:.2f}" for t in tries)
            f = median_run(tries)
            print(f"{size:>6} instances: median of {args.repeat} runs ({times} s): {verdict(f)}")
        runs.append(median_run(tries))
    if args.json:
        args.json.write_text(json.dumps({"delay": args.delay, "runs": runs}, indent=2) + "\n")


def median_run(tries: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose fan-out time is the median (the lower middle one of an even count)."""
    return sorted(tries, key=lambda t: (not t["complete"], t["fanout_s"]))[(len(tries) - 1) // 2]


def report(f: dict[str, Any]) -> None:
    size = f["instances"]
    latency = (
        f"p50 {f['p50_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms, max {f['max_ms']:.0f} ms"
        if f["p50_ms"] is not None
        else "no results"
    )
    outcome = (
        f"all finished in {f['fanout_s']:.2f} s"
        if f["complete"]
        else f"INCOMPLETE: {f['correct']} of {size} finished within {f['fanout_s']:.1f} s"
    )
    print(
        f"{size:>6} instances: {outcome} "
        f"({f['correct']}/{size} correct; InvokeCommands took {f['invoke_s']:.2f} s); "
        f"per instance {latency}; controller CPU {f['controller_cpu_s']:.1f} s, "
        f"simulator CPU {f['simulator_cpu_s']:.1f} s; joined in {f['join_s']:.1f} s; "
        f"{f['errors']} errors. {verdict(f)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
