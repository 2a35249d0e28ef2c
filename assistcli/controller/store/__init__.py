"""Persistence: the `Store` contract and its backends, chosen by URL."""

from __future__ import annotations

from pathlib import Path

from assistcli.controller.store.base import Store

DEFAULT_FILE = "assist.db"  # in the data directory
POSTGRES_SCHEMES = ("postgresql", "postgres")


class UnsupportedStore(ValueError):
    """A store URL this controller cannot open."""


def normalized_url(url: str) -> str:
    """`url` checked and absolute: `sqlite:///relative/path` or `sqlite:////absolute/path`
    (SQLAlchemy's spelling), or a bare file path, become `sqlite:////absolute/path`, so that a
    controller started elsewhere (by systemd, say) opens the same file."""
    return "sqlite:///" + str(sqlite_file(url).absolute())


def sqlite_file(url: str) -> Path:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return Path(url).expanduser()  # a bare path
    if scheme == "sqlite" and len(rest) > 1 and rest.startswith("/"):
        return Path(rest[1:])
    if scheme.lower() in POSTGRES_SCHEMES:
        raise UnsupportedStore(
            f"{scheme}:// stores are not supported yet: this controller keeps its state in "
            "SQLite (sqlite:///PATH, or DATA_DIR/assist.db without --store)"
        )
    raise UnsupportedStore(f"unsupported store URL {url!r}: use sqlite:///PATH or a file path")


def open_store(url: str | None, data_dir: Path) -> Store:
    """The store at `url` (see normalized_url); None: SQLite in DATA_DIR/assist.db."""
    from assistcli.controller.store.sqlite import SqliteStore

    return SqliteStore(data_dir / DEFAULT_FILE if url is None else sqlite_file(url))


__all__ = ["Store", "UnsupportedStore", "normalized_url", "open_store"]
