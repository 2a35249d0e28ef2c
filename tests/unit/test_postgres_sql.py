"""What PostgreSQL is sent for the queries written once for both backends, and how wake-ups
are packed into notifications."""

from __future__ import annotations

from assistcli.controller.postgres_broker import PAYLOAD, payloads
from assistcli.controller.store.db import CLAIM, LOCK
from assistcli.controller.store.postgres_db import translate


def test_placeholders_percent_signs_and_null_safe_equality_are_translated() -> None:
    assert translate("SELECT * FROM t WHERE a = ? AND b LIKE 'x%' ESCAPE '\\'") == (
        "SELECT * FROM t WHERE a = %s AND b LIKE 'x%%' ESCAPE '\\'"
    )
    assert translate("UPDATE t SET a = ? WHERE lease_until IS ?") == (
        "UPDATE t SET a = %s WHERE lease_until IS NOT DISTINCT FROM %s"
    )
    assert translate("SELECT 1 FROM t WHERE a IS NULL") == "SELECT 1 FROM t WHERE a IS NULL"


def test_locks_and_claims_become_row_locks() -> None:
    assert translate(f"SELECT * FROM t WHERE a = ?{LOCK}") == (
        "SELECT * FROM t WHERE a = %s FOR NO KEY UPDATE"
    )
    assert translate(f"SELECT * FROM t LIMIT ?{CLAIM}") == (
        "SELECT * FROM t LIMIT %s FOR NO KEY UPDATE SKIP LOCKED"
    )


def test_ids_are_packed_into_few_notifications_within_the_size_limit() -> None:
    ids = {f"mi-{n:016d}" for n in range(10_000)}
    packed = list(payloads(ids))
    assert all(len(p.encode()) <= PAYLOAD for p in packed)
    assert len(packed) == 26  # 395 ids of 19 bytes and their commas each: never one per id
    assert sorted(i for p in packed for i in p.split(",")) == sorted(ids)
    assert list(payloads(["mi-1"])) == ["mi-1"]


def test_a_channel_name_fits_in_postgresqls_names() -> None:
    from assistcli.controller.postgres_broker import channel

    assert channel("fleet") == "assist_news:fleet"
    long = channel("s" * 60)
    assert len(long.encode()) <= 63 and long != channel("s" * 61)


def test_store_urls_are_logged_without_their_password() -> None:
    from assistcli.controller.store import redacted

    assert redacted("postgresql://assist:secret@db:5432/a") == "postgresql://assist:***@db:5432/a"
    assert redacted("postgresql://assist@db/a?sslmode=require&password=secret") == (
        "postgresql://assist@db/a?sslmode=require&password=***"
    )
    assert redacted("postgresql://assist@db/a") == "postgresql://assist@db/a"
