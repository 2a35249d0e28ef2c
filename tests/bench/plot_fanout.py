"""Draw the fan-out figures of bench_fanout.py: time to all results and p99 latency against N.

    python tests/bench/bench_fanout.py --json fanout.json
    python tests/bench/plot_fanout.py fanout.json docs/fanout.png [--before older.json]

With `--before`, the figures of an earlier run (say, of an older commit) are drawn too, in grey.

Needs matplotlib, which the project does not depend on: without it, this prints a message and
draws nothing. It is not a benchmark (`make bench` runs only bench_*.py).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any


def plot(
    figures: dict[str, Any], out: Path, note: str, before: dict[str, Any] | None = None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    runs = sorted(figures["runs"], key=lambda run: run["instances"])
    sizes = [run["instances"] for run in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    if before is not None:
        old = sorted(before["runs"], key=lambda run: run["instances"])
        old_sizes = [run["instances"] for run in old]
        left.plot(old_sizes, [run["fanout_s"] for run in old], "o:", color="grey", label="before")
        right.plot(
            old_sizes, [run["p99_ms"] / 1000 for run in old], "o:", color="grey", label="p99 before"
        )
    left.plot(sizes, [run["fanout_s"] for run in runs], "o-", label="measured")
    for run in runs:
        left.annotate(
            f"{run['fanout_s']:.3g} s",
            (run["instances"], run["fanout_s"]),
            textcoords="offset points",
            xytext=(8, -3),
        )
    left.plot([1_000, 10_000], [2, 15], "r^", label="target")
    left.set(title="echo 123: first InvokeCommand to last result stored", ylabel="seconds")
    right.plot(sizes, [run["p99_ms"] / 1000 for run in runs], "o-", label="p99")
    for run in runs:
        right.annotate(
            f"{run['p99_ms'] / 1000:.3g} s",
            (run["instances"], run["p99_ms"] / 1000),
            textcoords="offset points",
            xytext=(8, -3),
        )
    right.plot(sizes, [run["p50_ms"] / 1000 for run in runs], "s--", label="p50")
    right.set(title="per instance: invocation created to result stored", ylabel="seconds")
    for axes in (left, right):
        axes.set(xscale="log", yscale="log", xlabel="instances (simulated agents)")
        axes.set_xticks(sizes, [f"{n:,}" for n in sizes])
        axes.set_xlim(sizes[0] / 1.6, sizes[-1] * 2)
        axes.yaxis.set_major_locator(FixedLocator([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200]))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(NullFormatter())
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    fig.suptitle(note, fontsize=9)
    fig.savefig(out, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", type=Path, help="JSON written by bench_fanout.py --json")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--note", default="", help="subtitle (default: the machine)")
    parser.add_argument("--before", type=Path, help="JSON of an earlier run, drawn in grey")
    args = parser.parse_args()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("plot_fanout: matplotlib is not installed; no plot drawn", file=sys.stderr)
        return
    note = args.note or f"{platform.machine()}, Python {platform.python_version()}"
    before = json.loads(args.before.read_text()) if args.before else None
    plot(json.loads(args.figures.read_text()), args.out, note, before)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
