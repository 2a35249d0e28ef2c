"""Numbered schema migrations, shipped as `migrations/NNNN_name.sql` beside this module."""

from __future__ import annotations

from importlib import resources


def migrations() -> list[tuple[int, str]]:
    """(version, SQL script) of every migration, oldest first."""
    folder = resources.files(__package__).joinpath("migrations")
    scripts = [
        (int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(scripts)
