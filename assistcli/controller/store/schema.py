"""Numbered schema migrations, shipped beside this module: `migrations/NNNN_name.sql` for
SQLite, `migrations/postgresql/NNNN_name.sql` for PostgreSQL (numbered on their own)."""

from __future__ import annotations

from importlib import resources


def migrations(dialect: str = "sqlite") -> list[tuple[int, str]]:
    """(version, SQL script) of every migration of the dialect, oldest first."""
    folder = resources.files(__package__).joinpath("migrations")
    if dialect != "sqlite":
        folder = folder.joinpath(dialect)
    scripts = [
        (int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(scripts)
