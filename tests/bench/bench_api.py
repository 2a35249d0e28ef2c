"""API throughput: signed DescribeInvocationResults calls from 50 concurrent clients.

    python tests/bench/bench_api.py [--clients 50] [--requests 5000] [--page-size 10] \
        [--serve-arg=--legacy-result-lists ...]

Starts a controller on loopback, fills it with results (a simulated fleet of 100 agents runs
`echo 123` from 10 InvokeCommands of 100 instances each: 1,000 finished records, then the fleet
stops), and then sends `--requests` DescribeInvocationResults calls (InvokeId of one of those
invocations, `--page-size` results a page) from `--clients` concurrent clients, each with its
own keep-alive connection, every request signed afresh with signature V1 (a new nonce, which the
controller records). Figures: requests per second over the whole run, latency p50 / p99 per
request, and the controller's CPU time per request. No target is set; the figures are a
baseline.
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

from bench_agent_idle import cpu_seconds
from conftest import Controller, free_port
from fleet import Api, Fleet

INSTANCES, INVOCATIONS = 100, 10


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))]


async def fill(ctl: Controller) -> list[str]:
    """Run `echo 123` INVOCATIONS times on INSTANCES simulated agents; the invoke IDs."""
    fleet = Fleet(ctl.url, ctl.access_key_id, ctl.access_key_secret, INSTANCES)
    try:
        await fleet.start()
        command = await fleet.api.call(
            "CreateCommand",
            {
                "Name": "bench-echo",
                "Type": "RunShellScript",
                "CommandContent": "echo 123",
                "ContentEncoding": "PlainText",
            },
        )
        invoke_ids = []
        for _ in range(INVOCATIONS):
            answer = await fleet.api.call(
                "InvokeCommand",
                {"CommandId": command["CommandId"], "InstanceId": fleet.instance_ids},
            )
            invoke_ids.append(answer["InvokeId"])
        if not await fleet.wait_finished(INSTANCES * INVOCATIONS, 60):
            raise RuntimeError(f"only {fleet.counters.finished} runs finished")
    finally:
        await fleet.stop()
    return invoke_ids


async def hammer(ctl: Controller, clients: int, requests: int, page_size: int) -> dict[str, float]:
    invoke_ids = await fill(ctl)
    assert ctl.process is not None
    apis = [Api(ctl.url, ctl.access_key_id, ctl.access_key_secret) for _ in range(clients)]
    params = {"InvokeId": invoke_ids[0], "PageSize": page_size}
    latencies: list[float] = []
    left = 50

    async def client(api: Api) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            began = time.perf_counter()
            answer = await api.call("DescribeInvocationResults", params)
            latencies.append(time.perf_counter() - began)
            assert len(answer["Invocation"]["InvocationResults"]["InvocationResult"]) == page_size

    await asyncio.gather(*(client(api) for api in apis[:5]))  # warm up: connections, caches
    latencies.clear()
    left = requests
    cpu, own, began = cpu_seconds(ctl.process.pid), time.process_time(), time.monotonic()
    await asyncio.gather(*(client(api) for api in apis))
    elapsed = time.monotonic() - began
    cpu, own = cpu_seconds(ctl.process.pid) - cpu, time.process_time() - own
    for api in apis:
        api.close()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "max_ms": 1000 * max(latencies),
        "controller_cpu_ms": 1000 * cpu / len(latencies),
        "client_cpu_ms": 1000 * own / len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--page-size", type=int, default=10, choices=range(1, 51), metavar="1-50")
    parser.add_argument(
        "--serve-arg", action="append", default=[], help="an option of `controller serve`"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        ctl = Controller(Path(scratch), free_port(), tuple(args.serve_arg))
        ctl.create_access_key()
        ctl.start()
        try:
            f = asyncio.run(hammer(ctl, args.clients, args.requests, args.page_size))
        finally:
            ctl.stop()
    print(
        f"DescribeInvocationResults (PageSize {args.page_size}), {args.clients} clients, "
        f"{f['requests']:.0f} signed requests: {f['rps']:.0f} requests/s; latency p50 "
        f"{f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, max {f['max_ms']:.1f} ms; "
        f"controller CPU {f['controller_cpu_ms']:.2f} ms a request "
        f"(client {f['client_cpu_ms']:.2f} ms)"
    )


if __name__ == "__main__":
    main()
