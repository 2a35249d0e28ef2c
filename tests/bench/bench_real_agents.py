"""Real agents: RunCommand to 50 `agentd run` processes, and one agent's round trip.

    python tests/bench/bench_real_agents.py [--agents 50] [--runs 30]

Starts a controller on loopback and `--agents` real agents (each registered with
`python -m agentd register`, each with its own state directory), and waits until all poll.
- Fan-out: one RunCommand `echo 123` to all of them. The clock starts just before the call; the
  run ends when every record has ended (the controller's database, read-only, every 5 ms).
  Fan-out time = the last record's update_time (when the controller stored its final report)
  minus the start; per-instance latency = update_time - the invocation's creation_time.
- Round trip: `--runs` RunCommands, one after another, to one agent. Each is timed from just
  before the call until DescribeInvocationResults (polled every 5 ms) shows the result
  Finished with its output ("visible"); the database's update_time gives when it was stored.
Targets: all 50 results stored within 1 s; one agent's RunCommand-to-result-visible p50 < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/ for conftest's helpers

from conftest import Controller, api, free_port, wait_for

from assistcli.client import ApiClient, PlainHttpTransport

POLL_EVERY = 0.005
FANOUT_TARGET, ROUND_TRIP_TARGET_MS = 1.0, 50.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))]


def read_db(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def register(ctl: Controller, root: Path, count: int) -> list[Path]:
    """`count` registered state directories, registered in parallel."""
    activation = api(ctl).call("CreateActivation", {"InstanceName": "real", "InstanceCount": count})
    dirs = [root / f"agent-{i:02d}" for i in range(count)]
    registering = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentd",
                "register",
                "--server",
                ctl.url,
                "--activation-id",
                activation["ActivationId"],
                "--activation-code",
                activation["ActivationCode"],
                "--state-dir",
                str(state_dir),
                "--name",
                state_dir.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for state_dir in dirs
    ]
    for process in registering:
        _, errors = process.communicate(timeout=60)
        if process.returncode != 0:
            raise RuntimeError(f"agentd register failed: {errors.decode()}")
    return dirs


def start_agents(dirs: list[Path]) -> list[subprocess.Popen[bytes]]:
    agents = []
    for state_dir in dirs:
        with open(state_dir / "agentd.log", "ab") as log:
            agents.append(
                subprocess.Popen(
                    [sys.executable, "-m", "agentd", "run", "--state-dir", str(state_dir)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    return agents


def stop_agents(agents: list[subprocess.Popen[bytes]]) -> None:
    for agent in agents:
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
    for agent in agents:
        try:
            agent.wait(timeout=15)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait(timeout=5)


def fan_out(client: ApiClient, db: Path, ids: list[str]) -> dict[str, float]:
    started = time.time()
    invoke_id = client.call(
        "RunCommand",
        {
            "Type": "RunShellScript",
            "CommandContent": "echo 123",
            "ContentEncoding": "PlainText",
            "InstanceId": ids,
        },
    )["InvokeId"]
    ended = "('Pending', 'Running', 'Stopping', 'Scheduled')"
    wait_for(
        lambda: (
            not read_db(
                db, f"SELECT 1 FROM targets WHERE invoke_id = ? AND status IN {ended}", invoke_id
            )
        ),
        timeout=30,
        what="every agent's result",
    )
    rows = read_db(
        db,
        "SELECT t.status, t.output, t.update_time, i.creation_time FROM targets t "
        "JOIN invocations i ON i.invoke_id = t.invoke_id WHERE t.invoke_id = ?",
        invoke_id,
    )
    good = [r for r in rows if r[0] == "Success" and r[1] == b"123\n"]
    latencies = [r[2] - r[3] for r in good]
    return {
        "correct": len(good),
        "fanout_s": max(r[2] for r in rows) - started,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
    }


def round_trip(client: ApiClient, db: Path, instance_id: str) -> tuple[float, float]:
    """(ms until DescribeInvocationResults shows the result, ms until it was stored)."""
    started = time.time()
    invoke_id = client.call(
        "RunCommand",
        {
            "Type": "RunShellScript",
            "CommandContent": "echo 123",
            "ContentEncoding": "PlainText",
            "InstanceId": [instance_id],
        },
    )["InvokeId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        result = client.call("DescribeInvocationResults", {"InvokeId": invoke_id})
        rows = result["Invocation"]["InvocationResults"]["InvocationResult"]
        if rows and rows[0]["InvokeRecordStatus"] == "Finished":
            visible = time.time() - started
            if rows[0]["InvocationStatus"] != "Success" or rows[0]["Output"] != "MTIzCg==":
                raise RuntimeError(f"unexpected result: {rows[0]}")
            break
        time.sleep(POLL_EVERY)
    else:
        raise RuntimeError(f"no result for {invoke_id} within 10 s")
    stored = read_db(db, "SELECT update_time FROM targets WHERE invoke_id = ?", invoke_id)[0][0]
    return 1000 * visible, 1000 * (stored - started)


def measure(count: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        ctl = Controller(root / "controller", free_port())
        ctl.data_dir.mkdir()
        ctl.create_access_key()
        ctl.start()
        db = ctl.data_dir / "assist.db"
        agents: list[subprocess.Popen[bytes]] = []
        try:
            agents = start_agents(register(ctl, root, count))
            wait_for(
                lambda: (
                    read_db(db, "SELECT count(*) FROM instances WHERE last_heartbeat > 0")[0][0]
                    == count
                ),
                timeout=60,
                what=f"{count} agents to poll",
            )
            time.sleep(2)  # every agent back in its long-poll
            ids = [row[0] for row in read_db(db, "SELECT instance_id FROM instances")]
            client = ApiClient(
                ctl.endpoint,
                ctl.access_key_id,
                ctl.access_key_secret,
                transport=PlainHttpTransport(),
            )
            figures = fan_out(client, db, ids)
            time.sleep(1)
            trips = [round_trip(client, db, ids[0]) for _ in range(runs)]
            visible, stored = [t[0] for t in trips], [t[1] for t in trips]
            figures |= {
                "visible_p50_ms": statistics.median(visible),
                "visible_p90_ms": percentile(visible, 0.9),
                "visible_max_ms": max(visible),
                "stored_p50_ms": statistics.median(stored),
            }
        finally:
            stop_agents(agents)
            ctl.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30, help="sequential round trips")
    args = parser.parse_args()
    if args.agents > 100:
        parser.error("RunCommand takes at most 100 instances")
    f = measure(args.agents, args.runs)
    fan_ok = "met" if f["fanout_s"] <= FANOUT_TARGET and f["correct"] == args.agents else "MISSED"
    trip_ok = "met" if f["visible_p50_ms"] < ROUND_TRIP_TARGET_MS else "MISSED"
    print(
        f"RunCommand to {args.agents} agentd processes: all results stored in "
        f"{f['fanout_s']:.3f} s ({f['correct']:.0f} correct; per instance p50 "
        f"{f['p50_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms) "
        f"(target {FANOUT_TARGET:.0f} s: {fan_ok})\n"
        f"one agent, {args.runs} RunCommands in turn: result visible p50 "
        f"{f['visible_p50_ms']:.1f} ms, p90 {f['visible_p90_ms']:.1f} ms, max "
        f"{f['visible_max_ms']:.1f} ms; stored p50 {f['stored_p50_ms']:.1f} ms "
        f"(target p50 < {ROUND_TRIP_TARGET_MS:.0f} ms: {trip_ok}); {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
