"""Scale-out: one controller on SQLite against two controllers sharing one PostgreSQL.

    python tests/bench/bench_scale_out.py [--instances 10000] [--wakeups 200]
        [--failover 1000] [--skip fanout,wakeup,failover]

Everything runs on this machine: the controllers, PostgreSQL (ASSIST_TEST_POSTGRES, default
postgres@127.0.0.1:5432; a database of its own per scenario, dropped after) and the simulated
agents (tests/bench/fleet.py, in this process).

- fan-out: `echo 123` to N instances, as bench_fanout.py: first on one controller on SQLite,
  then on two controllers on PostgreSQL with the agents split between them and the
  InvokeCommands (100 instances each) sent through either in turn. CPU seconds of the
  controllers and of PostgreSQL's processes are counted over the fan-out, per instance.
- wake-up: agents held by controller A; an InvokeCommand for one instance through controller
  B, one after another; latency = when A leased the task (delivered_at) - when B created it.
  The same through A, for comparison.
- failover: N agents on A, which also know B; kill -9 A; the time until every agent's poll was
  answered by B. Then `echo 123` through B to all of them: nothing lost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/ for conftest's helpers
sys.path.insert(0, str(Path(__file__).parent))

import psycopg
from bench_agent_idle import cpu_seconds
from bench_fanout import BATCH, fan_out, percentile
from conftest import Controller, free_port
from fleet import Fleet

SERVER = os.environ.get("ASSIST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
TICKS = os.sysconf("SC_CLK_TCK")


@contextmanager
def database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"assist_bench_{secrets.token_hex(4)}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        parts = urllib.parse.urlsplit(SERVER)
        yield urllib.parse.urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL process now running, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() not in ("postgres", "postmaster"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return found


def spent(before: dict[int, float]) -> float:
    after = postgres_cpu()
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


@contextmanager
def controllers(url: str, count: int) -> Iterator[list[Controller]]:
    with tempfile.TemporaryDirectory() as scratch:
        started = []
        try:
            for n in range(count):
                ctl = Controller(Path(scratch) / str(n), free_port(), store=url)
                ctl.data_dir.mkdir()
                ctl.create_access_key()
                ctl.start()
                started.append(ctl)
            yield started
        finally:
            for ctl in started:
                ctl.stop()


def stored(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


# Fan-out ----------------------------------------------------------------------------------------
async def fan_out_postgres(size: int, settle: float, limit: float) -> dict[str, Any]:
    with database() as url, controllers(url, 2) as (a, b):
        fleets = [
            Fleet(ctl.url, ctl.access_key_id, ctl.access_key_secret, size // 2, name_prefix=name)
            for ctl, name in ((a, "fleet-a"), (b, "fleet-b"))
        ]
        joined = time.monotonic()
        await asyncio.gather(*(fleet.start() for fleet in fleets))
        joined = time.monotonic() - joined
        await asyncio.sleep(settle)
        try:
            command = await fleets[0].api.call(
                "CreateCommand",
                {"Name": "bench-echo", "Type": "RunShellScript",
                 "CommandContent": "echo 123", "ContentEncoding": "PlainText"},
            )  # fmt: skip
            ids = [i for fleet in fleets for i in fleet.instance_ids]
            ids = ids[0::2] + ids[1::2]  # each batch holds agents of both controllers
            processes = [ctl.process for ctl in (a, b) if ctl.process is not None]
            cpu = [cpu_seconds(p.pid) for p in processes]
            pg, own = postgres_cpu(), time.process_time()
            started, deadline = time.time(), time.monotonic() + limit
            for n, first in enumerate(range(0, len(ids), BATCH)):
                await fleets[
                    n % 2
                ].api.call(  # through either controller in turn
                    "InvokeCommand",
                    {"CommandId": command["CommandId"], "InstanceId": ids[first : first + BATCH]},
                )
            invoked = time.time() - started
            await asyncio.gather(
                *(f.wait_finished(size // 2, max(0.0, deadline - time.monotonic())) for f in fleets)
            )
            waited = time.time() - started
            controller_cpu = sum(
                cpu_seconds(p.pid) - c for p, c in zip(processes, cpu, strict=True)
            )
            pg_cpu, own = spent(pg), time.process_time() - own
        finally:
            await asyncio.gather(*(fleet.stop() for fleet in fleets))
        rows = stored(
            url,
            "SELECT t.update_time - i.creation_time FROM targets t JOIN invocations i "
            "ON i.invoke_id = t.invoke_id WHERE t.status = 'Success' AND t.output = %s",
            b"123\n",
        )
        last = stored(url, "SELECT max(update_time) FROM targets")[0][0]
    latencies = [r[0] for r in rows]
    return {
        "instances": len(ids),
        "join_s": joined,
        "invoke_s": invoked,
        "fanout_s": last - started if len(rows) == len(ids) else waited,
        "complete": len(rows) == len(ids),
        "correct": len(rows),
        "p50_ms": 1000 * percentile(latencies, 0.5) if latencies else None,
        "p99_ms": 1000 * percentile(latencies, 0.99) if latencies else None,
        "controller_cpu_s": controller_cpu,
        "postgres_cpu_s": pg_cpu,
        "simulator_cpu_s": own,
    }


# Wake-up across controllers ---------------------------------------------------------------------
async def wakeups(count: int, agents: int = 50) -> dict[str, list[float]]:
    with database() as url, controllers(url, 2) as (a, b):
        fleet = Fleet(a.url, a.access_key_id, a.access_key_secret, agents)
        await fleet.start()
        via = {
            "through B": Fleet(b.url, b.access_key_id, b.access_key_secret, 0).api,
            "through A": fleet.api,
        }
        try:
            command = await fleet.api.call(
                "CreateCommand",
                {"Name": "bench-echo", "Type": "RunShellScript",
                 "CommandContent": "echo 123", "ContentEncoding": "PlainText"},
            )  # fmt: skip
            await asyncio.sleep(2.0)  # every agent back in a long poll
            invoked: dict[str, list[str]] = {name: [] for name in via}
            done = 0
            for n in range(count):
                for name, api in via.items():
                    instance = fleet.instance_ids[n % agents]
                    answer = await api.call(
                        "InvokeCommand",
                        {"CommandId": command["CommandId"], "InstanceId": [instance]},
                    )
                    invoked[name].append(answer["InvokeId"])
                    done += 1
                    await fleet.wait_finished(done, 10.0)
        finally:
            for api in via.values():
                api.close()
            await fleet.stop()
        found = dict(
            stored(
                url,
                "SELECT t.invoke_id, t.delivered_at - i.creation_time FROM targets t "
                "JOIN invocations i ON i.invoke_id = t.invoke_id",
            )
        )
    return {
        name: [found[i] for i in ids if found.get(i) is not None] for name, ids in invoked.items()
    }


# Failover ---------------------------------------------------------------------------------------
async def failover(size: int) -> dict[str, Any]:
    with database() as url, controllers(url, 2) as (a, b):
        fleet = Fleet(
            a.url, a.access_key_id, a.access_key_secret, size, fallbacks=[b.url], poll_wait=600
        )
        await fleet.start()
        await asyncio.sleep(2.0)
        try:
            killed = time.monotonic()
            a.kill()
            moved = await fleet.wait_until(lambda: fleet.counters.failed_over >= size, 120.0)
            moved_s = time.monotonic() - killed
            api = Fleet(b.url, b.access_key_id, b.access_key_secret, 0).api
            command = await api.call(
                "CreateCommand",
                {"Name": "bench-echo", "Type": "RunShellScript",
                 "CommandContent": "echo 123", "ContentEncoding": "PlainText"},
            )  # fmt: skip
            started = time.monotonic()
            ids = fleet.instance_ids
            for first in range(0, size, BATCH):
                await api.call(
                    "InvokeCommand",
                    {"CommandId": command["CommandId"], "InstanceId": ids[first : first + BATCH]},
                )
            finished = await fleet.wait_finished(size, 120.0)
            ran_s = time.monotonic() - started
            api.close()
        finally:
            await fleet.stop()
        correct = stored(url, "SELECT count(*) FROM targets WHERE status = 'Success'")[0][0]
    return {
        "agents": size,
        "moved": fleet.counters.failed_over,
        "moved_s": moved_s if moved else None,
        "ran_s": ran_s if finished else None,
        "correct": correct,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--wakeups", type=int, default=200)
    parser.add_argument("--failover", type=int, default=1000)
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out")
    parser.add_argument("--limit", type=float, default=300.0)
    args = parser.parse_args()
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        print(f"skipped: no PostgreSQL at {SERVER} (set ASSIST_TEST_POSTGRES): {error}")
        return
    skip = set(filter(None, args.skip.split(",")))
    if "fanout" not in skip:
        one = asyncio.run(fan_out(args.instances, 0.0, 2.0, args.limit))
        two = asyncio.run(fan_out_postgres(args.instances, 2.0, args.limit))
        print(
            f"fan-out to {args.instances}: 1 controller on SQLite {one['fanout_s']:.2f} s "
            f"({one['correct']} correct, p50 {one['p50_ms']:.0f} ms, p99 {one['p99_ms']:.0f} ms, "
            f"controller CPU {one['controller_cpu_s']:.1f} s); 2 controllers on PostgreSQL "
            f"{two['fanout_s']:.2f} s ({two['correct']} correct, p50 {two['p50_ms']:.0f} ms, "
            f"p99 {two['p99_ms']:.0f} ms, controllers' CPU {two['controller_cpu_s']:.1f} s, "
            f"PostgreSQL CPU {two['postgres_cpu_s']:.1f} s, simulator CPU "
            f"{two['simulator_cpu_s']:.1f} s); ratio {two['fanout_s'] / one['fanout_s']:.2f}",
            flush=True,
        )
        per = 1000 / args.instances
        print(
            f"  per instance: SQLite controller {one['controller_cpu_s'] * per:.2f} ms CPU; "
            f"PostgreSQL controllers {two['controller_cpu_s'] * per:.2f} ms, "
            f"PostgreSQL itself {two['postgres_cpu_s'] * per:.2f} ms",
            flush=True,
        )
    if "wakeup" not in skip:
        found = asyncio.run(wakeups(args.wakeups))
        for name, values in found.items():
            ms = [1000 * v for v in values]
            print(
                f"wake-up {name} ({len(ms)}): p50 {statistics.median(ms):.1f} ms, "
                f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms",
                flush=True,
            )
    if "failover" not in skip:
        f = asyncio.run(failover(args.failover))
        print(
            f"failover of {f['agents']} agents after kill -9: {f['moved']} polling the other "
            f"controller after {f['moved_s'] or float('nan'):.2f} s; echo 123 to all of them "
            f"through it {f['ran_s'] or float('nan'):.2f} s, {f['correct']} correct",
            flush=True,
        )


if __name__ == "__main__":
    main()
