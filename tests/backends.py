"""The store backends every contract and store-level test runs against, each a factory of a
fresh, unopened store from the test's temporary directory (PostgreSQL: a schema per test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pgtest

from assistcli.controller.store import Store
from assistcli.controller.store.postgres import PostgresStore
from assistcli.controller.store.sqlite import SqliteStore

BACKENDS: dict[str, Callable[[Path], Store]] = {
    "sqlite": lambda tmp: SqliteStore(tmp / "assist.db"),
    "postgresql": lambda tmp: PostgresStore(pgtest.schema_url(str(tmp))),
}
