"""SQLite queries for runs' whole output, kept beside their records.

A record shows the head and the tail of its run's output (runoutput.fold). Once a run's output
outgrows its record, every byte of it also goes to `output_chunks`, at its offset in the output,
up to the controller's cap: runs whose output fits in their record cost nothing here. Offsets
count the bytes the controller received of the run, so a read can resume where it left off.
"""

from __future__ import annotations

from assistcli.controller.models import Target
from assistcli.controller.runoutput import fold
from assistcli.controller.store.db import Db

KEY = "invoke_id = ? AND instance_id = ? AND run = ?"


def append(c: Db, record: Target, data: bytes, limit: int, cap: int, now: float) -> None:
    """`data`, the next bytes of the record's run's output: folded into the record, and kept
    beside it (up to `cap` bytes) once the record cannot show them all. While a run goes on,
    its record's Dropped counts only the bytes cut, so output and Dropped add up to what came."""
    if not data:
        return
    received = len(record.output) + record.dropped
    shown, cut = fold(record.output, data, limit)
    if cap and (cut or record.dropped):
        if not record.dropped:  # the first cut: until now the record held the whole output
            _keep(c, record, 0, record.output, cap, now)
        _keep(c, record, received, data, cap, now)
    record.output, record.dropped = shown, record.dropped + cut


def _keep(c: Db, record: Target, offset: int, data: bytes, cap: int, now: float) -> None:
    if data and offset < cap:
        c.execute(
            "INSERT INTO output_chunks VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
            "(invoke_id, instance_id, run, byte_offset) DO UPDATE SET data = excluded.data, "
            "created_at = excluded.created_at",
            (record.invoke_id, record.instance_id, record.run, offset, data[: cap - offset], now),
        )


def read(
    c: Db,
    invoke_id: str,
    instance_id: str,
    run: int,
    start: int,
    limit: int,
) -> tuple[int, bytes] | None:
    key = (invoke_id, instance_id, run)
    if c.execute(f"SELECT 1 FROM output_chunks WHERE {KEY} LIMIT 1", key).fetchone() is None:
        return None
    first = c.execute(  # the chunk that holds `start`, found through the primary key
        f"SELECT max(byte_offset) FROM output_chunks WHERE {KEY} AND byte_offset <= ?",
        (*key, start),
    ).fetchone()[0]
    rows = c.execute(
        f"SELECT byte_offset, data FROM output_chunks WHERE {KEY} AND byte_offset >= ? "
        "ORDER BY byte_offset",
        (*key, start if first is None else first),
    )
    found, at = bytearray(), None
    for offset, data in rows:
        if at is None:
            at = max(offset, start)
            data = data[at - offset :]
        elif offset != at + len(found):
            break  # a gap: what follows is read from its own offset
        found += data
        if len(found) >= limit:
            break
    return (start, b"") if at is None else (at, bytes(found[:limit]))


def purge(c: Db, before: float, limit: int) -> int:
    return c.execute(
        "DELETE FROM output_chunks WHERE (invoke_id, instance_id, run, byte_offset) IN "
        "(SELECT invoke_id, instance_id, run, byte_offset FROM output_chunks "
        "WHERE created_at < ? LIMIT ?)",
        (before, limit),
    ).rowcount
