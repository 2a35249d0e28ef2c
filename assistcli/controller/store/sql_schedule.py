"""SQLite queries for schedules: due records, fires, reboot triggers and run history.

A periodic or every-reboot record runs many times. Each run starts from a fire (recorded once
under its unique key), is delivered like a one-time task, and when it ends its outcome goes to
the `runs` history while the record returns to Scheduled if more runs are to come.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from assistcli.api import status as st
from assistcli.api.status import RecordStatus
from assistcli.controller.models import Fire, Result, Target
from assistcli.controller.records import end_run, rearm
from assistcli.controller.store.db import CLAIM, Db
from assistcli.controller.store.sql_rows import (
    invocation_rows,
    invocations_of,
    refresh_status,
    target_of,
    update_records,
)

# A run's own fields, as the `runs` history keeps them.
RUN_FIELDS = (
    "status",
    "start_time",
    "finish_time",
    "stop_time",
    "update_time",
    "exit_code",
    "output",
    "dropped",
    "error_code",
    "error_info",
)


DUE = (  # due, and claimed by nobody (see Store.claim_due)
    "next_fire IS NOT NULL AND next_fire <= ? "
    "AND (fire_lease_until IS NULL OR fire_lease_until < ?)"
)


def claim_due(c: Db, now: float, limit: int, lease: float) -> list[Result]:
    rows = c.execute(
        f"SELECT * FROM targets WHERE {DUE} ORDER BY next_fire LIMIT ?{CLAIM}", (now, now, limit)
    ).fetchall()
    # The rows read are this transaction's until it commits (locked, or SQLite's one writer),
    # as a delivery's are (sql_fleet.claim_deliveries): of two claims, the other skipped them.
    c.executemany(
        "UPDATE targets SET fire_lease_until = ? WHERE invoke_id = ? AND instance_id = ?",
        [(now + lease, row["invoke_id"], row["instance_id"]) for row in rows],
    )
    ids = list(dict.fromkeys(r["invoke_id"] for r in rows))
    rows_of = invocation_rows(c, ids)
    found = invocations_of(c, rows_of, with_targets=False, with_tags=False)  # what plan() needs
    by_id = {inv.invoke_id: inv for inv in found}
    return [Result(target=target_of(r), invocation=by_id[r["invoke_id"]]) for r in rows]


def next_due(c: Db) -> float | None:
    value = c.execute(
        "SELECT min(CASE WHEN fire_lease_until > next_fire THEN fire_lease_until "
        "ELSE next_fire END) FROM targets WHERE next_fire IS NOT NULL"
    ).fetchone()
    return None if value[0] is None else float(value[0])


def record_fires(c: Db, fires: Sequence[Fire], now: float) -> list[Fire]:
    """Handle each fire once; returns the fires that started a run."""
    started = []
    for fire in fires:
        if fire.outcome == "run" and schedules_itself(c, fire.instance_id):
            fire.outcome = "agent"  # it runs on the agent's clock: its first report starts it
        # Compare-and-set on the fire the claim saw: a record stopped since, or fired by
        # another controller once this claim lapsed, is left as it is.
        moved = c.execute(
            "UPDATE targets SET next_fire = ?, fire_lease_until = NULL "
            "WHERE invoke_id = ? AND instance_id = ? AND next_fire = ?",
            (fire.next_fire, fire.invoke_id, fire.instance_id, fire.due),
        ).rowcount
        fresh = (
            moved
            and c.execute(
                "INSERT INTO fires VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (fire.invoke_id, fire.instance_id, fire.fire_time, now, fire.outcome),
            ).rowcount
        )
        if not fresh:  # handled already: before a restart, or by another controller
            continue
        if fire.outcome == "run":
            start_run(c, fire.invoke_id, fire.instance_id, now)
            started.append(fire)
    refresh_status(c, {f.invoke_id for f in fires})
    return started


def schedules_itself(c: Db, instance_id: str) -> bool:
    """Whether the instance runs Alibaba's agent, which runs periodic tasks itself (see
    sql_official.py)."""
    found = c.execute("SELECT 1 FROM agent_keys WHERE instance_id = ?", (instance_id,))
    return found.fetchone() is not None


def start_run(c: Db, invoke_id: str, instance_id: str, now: float) -> None:
    """The record's next run becomes Pending, and a history row is opened for it."""
    c.execute(
        "UPDATE targets SET run = run + 1, status = ?, start_time = NULL, "
        "finish_time = NULL, stop_time = NULL, exit_code = NULL, output = ?, dropped = 0, "
        "error_code = '', error_info = '', report_seq = -1, delivered_at = NULL, "
        "lease_until = NULL, queued_at = ?, update_time = ? "
        "WHERE invoke_id = ? AND instance_id = ?",
        (RecordStatus.PENDING, b"", now, now, invoke_id, instance_id),
    )
    c.execute(
        "INSERT INTO runs (invoke_id, instance_id, run, status, update_time) "
        "SELECT invoke_id, instance_id, run, ?, ? FROM targets "
        "WHERE invoke_id = ? AND instance_id = ? ON CONFLICT (invoke_id, instance_id, run) "
        "DO UPDATE SET status = excluded.status, update_time = excluded.update_time",
        (RecordStatus.PENDING, now, invoke_id, instance_id),
    )


def fire_reboots(c: Db, instance_id: str, boot_id: str, now: float) -> list[str]:
    """Start the reboot tasks of an instance that booted since they were armed."""
    rows = c.execute(
        "SELECT t.invoke_id, t.boot_id FROM targets t JOIN invocations i "
        "ON i.invoke_id = t.invoke_id WHERE t.instance_id = ? AND t.status = ? "
        "AND t.next_fire IS NULL AND i.repeat_mode IN (?, ?) AND t.boot_id != ?",
        (instance_id, RecordStatus.SCHEDULED, *st.REBOOT_MODES, boot_id),
    ).fetchall()
    fired = []
    for invoke_id, armed_in in rows:
        rearmed = c.execute(  # conditional on the boot read: two polls at once start one run
            "UPDATE targets SET boot_id = ? WHERE invoke_id = ? AND instance_id = ? "
            "AND boot_id = ? AND status = ?",
            (boot_id, invoke_id, instance_id, armed_in, RecordStatus.SCHEDULED),
        ).rowcount
        # Armed before the instance ever said which boot it was in: arm only.
        if rearmed and armed_in:
            start_run(c, invoke_id, instance_id, now)
            fired.append(invoke_id)
    refresh_status(c, fired)
    return fired


def settle(c: Db, record: Target, repeat_mode: str) -> None:
    """After a change to a repeating record's run: keep its history row current and, once the
    run has ended with more runs to come, return the record to Scheduled."""
    if repeat_mode not in st.REPEATING or record.run < 1:
        return
    c.execute(
        f"INSERT INTO runs (invoke_id, instance_id, run, {', '.join(RUN_FIELDS)}) "
        f"VALUES (?, ?, ?, {', '.join('?' * len(RUN_FIELDS))}) "
        "ON CONFLICT (invoke_id, instance_id, run) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in RUN_FIELDS),
        (
            record.invoke_id,
            record.instance_id,
            record.run,
            *(getattr(record, name) for name in RUN_FIELDS),
        ),
    )
    rearm(record, repeat_mode)


def repeat_modes(c: Db, invoke_ids: Iterable[str]) -> dict[str, str]:
    ids = list(invoke_ids)
    if not ids:
        return {}
    rows = c.execute(
        f"SELECT invoke_id, repeat_mode FROM invocations WHERE invoke_id IN "
        f"({','.join('?' * len(ids))})",
        ids,
    )
    return dict(rows)


def history(
    c: Db, invoke_id: str, instance_id: str | None, limit: int, offset: int
) -> tuple[list[Result], int]:
    """Every run of a repeating invocation, oldest first."""
    where, params = "r.invoke_id = ?", [invoke_id]
    if instance_id:
        where += " AND r.instance_id = ?"
        params.append(instance_id)
    total = c.execute(f"SELECT count(*) FROM runs r WHERE {where}", params).fetchone()[0]
    rows = c.execute(
        f"SELECT r.*, t.creation_time FROM runs r JOIN targets t ON t.invoke_id = r.invoke_id "
        f"AND t.instance_id = r.instance_id WHERE {where} ORDER BY r.run, r.instance_id "
        "LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    found = invocations_of(c, invocation_rows(c, [invoke_id]), with_targets=False)
    if not found:
        return [], 0
    results = []
    for row in rows:
        record = Target(
            invoke_id=invoke_id,
            instance_id=row["instance_id"],
            creation_time=row["creation_time"],
            run=row["run"],
            repeats=row["run"],
            **{name: row[name] for name in RUN_FIELDS},
        )
        results.append(Result(target=record, invocation=found[0]))
    return results, int(total)


def end_runs(
    c: Db,
    records: list[Target],
    status: RecordStatus,
    error: tuple[str, str],
    now: float,
) -> list[Target]:
    """End the current runs of `records`, as they were read, with `status` and (ErrorCode,
    ErrorInfo). A record whose version changed since it was read (a report, a claim or another
    ending came in between) is left alone. Returns the records ended."""
    ended = [r for r in records if end_if_unchanged(c, r, status, error, now)]
    modes = repeat_modes(c, {r.invoke_id for r in ended})
    for record in ended:
        settle(c, record, modes[record.invoke_id])
    update_records(c, ended)  # the rows are this transaction's until it commits
    refresh_status(c, {r.invoke_id for r in ended})
    return ended


def end_if_unchanged(
    c: Db, record: Target, status: RecordStatus, error: tuple[str, str], now: float
) -> bool:
    """Compare-and-set on the record's version (run, status, report_seq, lease_until). `IS` is
    SQLite's equality that holds between NULLs (PostgreSQL: IS NOT DISTINCT FROM)."""
    ended = c.execute(
        "UPDATE targets SET status = ?, error_code = ?, error_info = ?, update_time = ?, "
        "finish_time = ? WHERE invoke_id = ? AND instance_id = ? AND run = ? AND status = ? "
        "AND report_seq = ? AND lease_until IS ?",
        (
            status,
            *error,
            now,
            now,
            record.invoke_id,
            record.instance_id,
            record.run,
            record.status,
            record.report_seq,
            record.lease_until,
        ),
    ).rowcount
    if ended:
        end_run(record, status, error, now)
    return bool(ended)
