"""SQLite queries for administration: access keys, and the deregistration feed with the
controllers that follow it.

Plain functions of a connection, run by `SqliteStore` on its writer thread.
"""

from __future__ import annotations

from assistcli.controller.models import AccessKey
from assistcli.controller.store.db import Db, Row

FEED_KEEP = 24 * 3600.0  # seconds a deregistration stays in the feed: controllers follow it live
CONTROLLER_KEEP = 24 * 3600.0  # seconds a controller that stopped without a word is remembered


# Access keys ----------------------------------------------------------------------------------
def access_key_of(row: Row) -> AccessKey:
    return AccessKey(
        access_key_id=row["access_key_id"],
        secret=row["secret"],
        enabled=bool(row["enabled"]),
        created_at=row["created_at"],
        last_used=row["last_used"],
    )


def get_access_key(c: Db, access_key_id: str) -> AccessKey | None:
    row = c.execute("SELECT * FROM access_keys WHERE access_key_id = ?", (access_key_id,))
    found = row.fetchone()
    return access_key_of(found) if found else None


def list_access_keys(c: Db) -> list[AccessKey]:
    rows = c.execute("SELECT * FROM access_keys ORDER BY created_at, access_key_id")
    return [access_key_of(row) for row in rows]


def set_access_key_enabled(c: Db, access_key_id: str, enabled: bool) -> bool:
    changed = c.execute(
        "UPDATE access_keys SET enabled = ? WHERE access_key_id = ?", (int(enabled), access_key_id)
    )
    return changed.rowcount > 0


def delete_access_key(c: Db, access_key_id: str) -> bool:
    gone = c.execute("DELETE FROM access_keys WHERE access_key_id = ?", (access_key_id,))
    return gone.rowcount > 0


# The deregistration feed ------------------------------------------------------------------------
def append_deregistration(c: Db, instance_id: str, now: float) -> None:
    c.execute("DELETE FROM deregistrations WHERE deregistered_at < ?", (now - FEED_KEEP,))
    # Taking the next position locks the feed's head until the commit: positions become
    # visible in order, so a follower that read up to one has missed none before it.
    c.execute("UPDATE feed_head SET position = position + 1 WHERE id = 1")
    position = feed_position(c)
    c.execute(
        "INSERT INTO deregistrations (position, instance_id, deregistered_at) VALUES (?, ?, ?)",
        (position, instance_id, now),
    )


def feed_position(c: Db) -> int:
    """The last position handed out, even once its row is purged."""
    return int(c.execute("SELECT position FROM feed_head WHERE id = 1").fetchone()[0])


def deregistrations(c: Db, after: int | None) -> tuple[list[str], int]:
    position = feed_position(c)
    if after is None or after >= position:
        return [], position
    rows = c.execute(
        "SELECT instance_id FROM deregistrations WHERE position > ? AND position <= ? "
        "ORDER BY position",
        (after, position),
    )
    return [row[0] for row in rows], position


def controller_seen(c: Db, controller_id: str, applied: int | None, now: float) -> None:
    if applied is None:
        c.execute("DELETE FROM controllers WHERE controller_id = ?", (controller_id,))
        return
    c.execute("DELETE FROM controllers WHERE seen_at < ?", (now - CONTROLLER_KEEP,))
    c.execute(
        "INSERT INTO controllers (controller_id, applied, seen_at) VALUES (?, ?, ?) "
        "ON CONFLICT (controller_id) DO UPDATE SET applied = excluded.applied, "
        "seen_at = excluded.seen_at",
        (controller_id, applied, now),
    )


def controllers_behind(c: Db, position: int, seen_since: float) -> list[str]:
    rows = c.execute(
        "SELECT controller_id FROM controllers WHERE applied < ? AND seen_at >= ? "
        "ORDER BY controller_id",
        (position, seen_since),
    )
    return [row[0] for row in rows]
