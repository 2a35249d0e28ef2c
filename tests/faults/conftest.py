"""These suites drive real processes with the e2e suite's clients and helpers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "e2e"))
