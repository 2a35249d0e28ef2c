"""Persistence: the `Store` contract and its backends, chosen by URL."""

from __future__ import annotations

from pathlib import Path

from assistcli.controller.store.base import Store


def open_store(url: str | None, data_dir: Path) -> Store:
    """`None` or `sqlite:///path` -> SQLite (default: DATA_DIR/assist.db)."""
    from assistcli.controller.store.sqlite import SqliteStore

    if url is None:
        return SqliteStore(data_dir / "assist.db")
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url.removeprefix("sqlite:///")))
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///PATH")


__all__ = ["Store", "open_store"]
