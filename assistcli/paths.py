"""Where Assist keeps its files by default (XDG base directories)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The embedded controller's home: $ASSIST_DATA_DIR, else $XDG_DATA_HOME/assist."""
    if explicit := os.environ.get("ASSIST_DATA_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "assist"
