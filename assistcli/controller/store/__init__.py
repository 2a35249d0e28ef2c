"""Persistence: the `Store` contract and its backends, chosen by URL."""

from __future__ import annotations

import re
from pathlib import Path

from assistcli.controller.store.base import Store

DEFAULT_FILE = "assist.db"  # in the data directory
POSTGRES_SCHEMES = ("postgresql", "postgres")


class UnsupportedStore(ValueError):
    """A store URL this controller cannot open."""


def is_postgres(url: str) -> bool:
    return url.partition("://")[0].lower() in POSTGRES_SCHEMES


def normalized_url(url: str) -> str:
    """`url` checked and absolute: `sqlite:///relative/path` or `sqlite:////absolute/path`
    (SQLAlchemy's spelling), or a bare file path, become `sqlite:////absolute/path`, so that a
    controller started elsewhere (by systemd, say) opens the same file. A PostgreSQL URL
    (libpq's: `postgresql://USER@HOST:PORT/DB?PARAM=...`) is checked and kept as it is."""
    if is_postgres(url):
        from psycopg.conninfo import conninfo_to_dict

        try:
            conninfo_to_dict(url)
        except Exception as error:
            raise UnsupportedStore(f"invalid PostgreSQL URL: {error}") from None
        return url
    return "sqlite:///" + str(sqlite_file(url).absolute())


def redacted(url: str) -> str:
    """The URL without a password it may hold (`user:PASSWORD@` or `?password=`), for logs and
    messages."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if sep and at and ":" in userinfo:
        url = f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", url, flags=re.IGNORECASE)


def sqlite_file(url: str) -> Path:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return Path(url).expanduser()  # a bare path
    if scheme == "sqlite" and len(rest) > 1 and rest.startswith("/"):
        return Path(rest[1:])
    raise UnsupportedStore(
        f"unsupported store URL {url!r}: use sqlite:///PATH, a file path, or "
        "postgresql://USER@HOST:PORT/DB"
    )


def open_store(url: str | None, data_dir: Path) -> Store:
    """The store at `url` (see normalized_url); None: SQLite in DATA_DIR/assist.db."""
    if url is not None and is_postgres(url):
        from assistcli.controller.store.postgres import PostgresStore

        return PostgresStore(url)
    from assistcli.controller.store.sqlite import SqliteStore

    return SqliteStore(data_dir / DEFAULT_FILE if url is None else sqlite_file(url))


__all__ = [
    "Store",
    "UnsupportedStore",
    "is_postgres",
    "normalized_url",
    "open_store",
    "redacted",
]
