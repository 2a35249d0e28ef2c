"""Follow latency: from a script printing a line to a follower of its output reading it.

    python tests/bench/bench_follow.py [--intervals 100,500,2000] [--lines 20]

Starts a controller on loopback and one real `agentd run`. For each interval, RunCommand a
Python script that prints its clock (`time.time()`) `--lines` times, every that many
milliseconds, and follows it as `assistcli output --follow` does: the signed output stream
(assistcli/streamclient.py) read in this process, which the CLI writes out as each frame
arrives. A line's latency is the moment its frame arrived minus the time it printed (one machine,
one clock). The script waits for the follower to be connected before its first line.

Target: a line reaches the follower within 1 s at the median.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/ for conftest's helpers
sys.path.insert(0, str(Path(__file__).parent))

from bench_real_agents import percentile, register, start_agents, stop_agents
from conftest import Controller, api, free_port, wait_for

from assistcli import streamclient
from assistcli.api.outputstream import Instances, Output, State
from assistcli.config import Settings

SCRIPT = """#!/usr/bin/env python3
import os, time
while not os.path.exists({gate!r}):
    time.sleep(0.01)
for _ in range({lines}):
    print(f"{{time.time():.6f}}", flush=True)
    time.sleep({interval})
"""
TARGET_MS = 1000.0


def settings(ctl: Controller) -> Settings:
    return Settings(
        endpoint=ctl.url,
        access_key_id=ctl.access_key_id,
        access_key_secret=ctl.access_key_secret,
        region_id="cn-hangzhou",
        read_timeout=60,
        connect_timeout=5,
        retry_count=0,
        source="bench",
    )


def follow(
    ctl: Controller, instance_id: str, interval_ms: int, lines: int, gate: Path
) -> list[float]:
    """Run the printing script and follow it; each line's latency in milliseconds."""
    script = SCRIPT.format(gate=str(gate), lines=lines, interval=interval_ms / 1000)
    invoke_id = api(ctl).call(
        "RunCommand",
        {
            "Type": "RunShellScript",
            "CommandContent": script,
            "ContentEncoding": "PlainText",
            "InstanceId": [instance_id],
            "Timeout": lines * interval_ms // 1000 + 60,
        },
    )["InvokeId"]
    latencies: list[float] = []
    partial = b""
    for frame in streamclient.frames(settings(ctl), invoke_id, follow=True):
        arrived = time.time()
        if isinstance(frame, Instances):
            gate.touch()  # connected: the script may print
        elif isinstance(frame, Output):
            *printed, partial = (partial + frame.data).split(b"\n")
            latencies += [(arrived - float(line)) * 1000 for line in printed if line]
        elif isinstance(frame, State) and frame.ended:
            assert frame.fields["InvocationStatus"] == "Success", frame.fields
    gate.unlink()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intervals", default="100,500,2000", help="milliseconds between lines")
    parser.add_argument("--lines", type=int, default=20, help="lines printed, per interval")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        ctl = Controller(root / "controller", free_port())
        ctl.data_dir.mkdir()
        ctl.create_access_key()
        ctl.start()
        [state_dir] = register(ctl, root, 1)
        agents = start_agents([state_dir])
        try:
            instance_id = json.loads((state_dir / "agent.json").read_text())["instance_id"]
            wait_for(lambda: _online(ctl, instance_id), 30, "the agent to poll")
            everything: list[float] = []
            for interval in (int(ms) for ms in args.intervals.split(",")):
                latencies = follow(ctl, instance_id, interval, args.lines, root / "gate")
                everything += latencies
                print(_figures(f"a line every {interval} ms", latencies), flush=True)
            met = percentile(everything, 0.5) <= TARGET_MS
            print(
                _figures("all lines", everything)
                + f"; target p50 <= 1 s: {'met' if met else 'MISSED'}"
            )
        finally:
            stop_agents(agents)
            ctl.stop()
    return 0


def _online(ctl: Controller, instance_id: str) -> bool:
    status = api(ctl).call("DescribeCloudAssistantStatus", {"InstanceId": [instance_id]})
    rows = status["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"]
    return bool(rows) and rows[0]["CloudAssistantStatus"] == "true"


def _figures(what: str, latencies: list[float]) -> str:
    return (
        f"{what}: {len(latencies)} lines, latency p50 {percentile(latencies, 0.5):.0f} ms, "
        f"p90 {percentile(latencies, 0.9):.0f} ms, max {max(latencies):.0f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
