"""A psycopg connection offered to the query modules as `db.Db`: the SQL they write (`?`
placeholders, SQLite's `IS` between values that may be NULL, the claim marker) is translated
once per statement text, and rows read by name or position as `sqlite3.Row`s are."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.rows import RowMaker

from assistcli.controller.store.db import CLAIM, LOCK


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """SQLite's spelling of a statement in PostgreSQL's (psycopg's placeholders)."""
    sql = sql.replace("%", "%%").replace("?", "%s")
    sql = sql.replace(" IS %s", " IS NOT DISTINCT FROM %s")
    # NO KEY UPDATE: strong enough to order writers of the row, and it lets the KEY SHARE lock
    # of a foreign-key check (a new record or run of a locked invocation) through, which a
    # plain FOR UPDATE would make a deadlock of.
    claim, lock = " FOR NO KEY UPDATE SKIP LOCKED", " FOR NO KEY UPDATE"
    return sql.replace(CLAIM, claim).replace(LOCK, lock)


@functools.lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[tuple[Any, ...]]:
    index = {name: i for i, name in enumerate(names)}

    class PgRow(tuple[Any, ...]):
        __slots__ = ()

        def __getitem__(self, key: Any) -> Any:
            return super().__getitem__(index[key] if isinstance(key, str) else key)

        def keys(self) -> list[str]:
            return list(names)

    return PgRow


def rows(cursor: psycopg.Cursor[Any]) -> RowMaker[Any]:
    """psycopg's row factory for `PgRow`s."""
    if cursor.description is None:
        return tuple
    return _row_class(tuple(column.name for column in cursor.description))


class FlagDumper(Dumper):
    """Flags are stored as integers, as SQLite stores them."""

    format = Format.TEXT
    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class PgDb:
    """The `Db` of one PostgreSQL transaction."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        return self._conn.execute(translate(sql), tuple(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        cursor = self._conn.cursor()
        batch = [tuple(p) for p in parameters]
        if batch:
            cursor.executemany(translate(sql), batch)
        return cursor
