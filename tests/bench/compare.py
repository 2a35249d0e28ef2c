"""Run one benchmark on two commits, alternating, so both see the same machine load.

    python tests/bench/compare.py BEFORE AFTER [--rounds 3] -- bench_fanout.py --sizes 1000

Each commit is checked out in a temporary git worktree and put first on PYTHONPATH, so the
benchmark, the controller it starts and the simulated fleet all run that commit's code (with this
virtual environment's packages). Prints each round's last lines, labelled by commit; compare the
medians. The worktrees are removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=3, help="last lines of output shown per run")
    argv = sys.argv[1:]
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("name the benchmark after --: ... -- bench_fanout.py --sizes 1000")
    split = argv.index("--")
    args, bench = parser.parse_args(argv[:split]), argv[split + 1 :]
    with tempfile.TemporaryDirectory(prefix="assist-compare-") as scratch:
        trees = {}
        for label, rev in (("before", args.before), ("after", args.after)):
            tree = Path(scratch) / label
            git = ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev]
            subprocess.run(git, check=True, capture_output=True)
            trees[label] = tree
        try:
            for round_ in range(1, args.rounds + 1):
                for label, tree in trees.items():
                    env = {**os.environ, "PYTHONPATH": str(tree)}
                    script = tree / "tests" / "bench" / bench[0]
                    done = subprocess.run(
                        [sys.executable, str(script), *bench[1:]],
                        cwd=tree,
                        env=env,
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    tail = (done.stdout + done.stderr).strip().splitlines()[-args.lines :]
                    for line in tail:
                        print(f"[{label} {round_}] {line}", flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                    check=False,
                    capture_output=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
