"""`make bench`: run every benchmark in this folder, one after another, and print its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

failed = 0
for script in sorted(Path(__file__).parent.glob("bench_*.py")):
    print(f"== {script.stem}", flush=True)
    failed += subprocess.run([sys.executable, str(script)], check=False).returncode != 0
sys.exit(1 if failed else 0)
