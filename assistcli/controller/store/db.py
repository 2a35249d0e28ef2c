"""What the query modules (sql_*.py) need of a database connection: the part of DB-API that
`sqlite3` and the PostgreSQL adapter (postgres_db.py) both offer, with `?` placeholders."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


class Row(Protocol):
    """A result row, read by column name or position."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """One connection inside one transaction: every statement of a Store call runs on it."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


# Appended to a SELECT that locks the rows it reads until the commit (PostgreSQL: FOR NO KEY
# UPDATE), or, for a claim, skips rows another transaction holds (... SKIP LOCKED). SQLite,
# whose writer is alone, reads a comment.
LOCK = " /*lock*/"
CLAIM = " /*claim*/"
