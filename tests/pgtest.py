"""The PostgreSQL the tests use: ASSIST_TEST_POSTGRES (a libpq URL of a server and a database to
connect to first; default: postgres@127.0.0.1:5432, trust auth, as CI runs it). One throwaway
database per test run, dropped when the run ends; one schema per test inside it.

Without a server to reach, PostgreSQL tests are skipped, except under CI (CI=true), where they
fail: CI starts its own server (.ci/run)."""

from __future__ import annotations

import atexit
import hashlib
import os
import secrets
import urllib.parse
from functools import cache

import pytest

DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("ASSIST_TEST_POSTGRES", DEFAULT)


@cache
def _database() -> str | None:
    """The URL of this run's throwaway database, created on first use (None: unreachable)."""
    import psycopg

    try:
        admin = psycopg.connect(server_url(), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        return None
    name = f"assist_test_{os.getpid()}_{secrets.token_hex(3)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    atexit.register(drop)
    parts = urllib.parse.urlsplit(server_url())
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def database_url() -> str:
    """This run's throwaway database, or the test is skipped (failed under CI)."""
    url = _database()
    if url is None:
        message = f"no PostgreSQL at {server_url()} (set ASSIST_TEST_POSTGRES)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


def schema_url(key: str) -> str:
    """A URL whose connections work in a schema of their own, named after `key` (created now,
    empty the first time)."""
    import psycopg

    url = database_url()
    schema = "t_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.urlencode({"options": f"-csearch_path={schema}"})
    return urllib.parse.urlunsplit(parts._replace(query=query))


def postgres_mode() -> bool:
    """Whether the tests' controllers keep their state in PostgreSQL (ASSIST_TEST_STORE)."""
    return os.environ.get("ASSIST_TEST_STORE", "sqlite") == "postgresql"


def store_for_tests(key: str) -> str | None:
    """The store URL a test's controller uses unless the test chooses: None (SQLite in its data
    dir), or with ASSIST_TEST_STORE=postgresql a schema of its own (`make test-postgresql`)."""
    return schema_url(key) if postgres_mode() else None
