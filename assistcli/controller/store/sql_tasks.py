"""SQLite queries for invocations: inserting them, listing them and their records, stopping."""

from __future__ import annotations

import json
from collections.abc import Sequence

from assistcli.api import status as st
from assistcli.api.status import RecordStatus
from assistcli.controller.models import (
    Invocation,
    InvocationFilter,
    Page,
    PageRequest,
    Result,
    ResultFilter,
    Target,
)
from assistcli.controller.store import sql_schedule as schedule
from assistcli.controller.store.db import Db
from assistcli.controller.store.sql_rows import (
    FILE_FIELDS,
    INVOCATION_FIELDS,
    TARGET_FIELDS,
    Where,
    file_row,
    insert_row,
    invocation_row,
    invocation_rows,
    invocations_of,
    marks,
    page_of,
    refresh_status,
    set_tags,
    target_of,
    target_row,
)


def insert_invocation(c: Db, invocation: Invocation) -> None:
    for target in invocation.targets:  # a record is queued from its creation by default
        if target.queued_at is None:
            target.queued_at = target.creation_time
    insert_row(c, "invocations", INVOCATION_FIELDS, invocation_row(invocation))
    c.executemany(
        f"INSERT INTO targets ({', '.join(TARGET_FIELDS)}) "
        f"VALUES ({', '.join('?' * len(TARGET_FIELDS))})",
        [target_row(t) for t in invocation.targets],
    )
    set_tags(c, "invocation", [invocation.invoke_id], invocation.tags)
    if invocation.file is not None:
        file = file_row(invocation.invoke_id, invocation.file)
        insert_row(c, "files", ["invoke_id", *FILE_FIELDS], file)
    c.execute(
        "UPDATE commands SET invoke_times = invoke_times + 1 WHERE command_id = ?",
        (invocation.command_id,),
    )
    refresh_status(c, [invocation.invoke_id])  # the task's status derives from its records


def list_invocations(c: Db, where: InvocationFilter, page: PageRequest) -> Page[Invocation]:
    cond = Where()
    for column in ("invoke_id", "command_id", "command_name", "command_type", "repeat_mode"):
        cond.equal(column, getattr(where, column))
    cond.equal("resource_group_id", where.resource_group_id)
    cond.equal("kind", where.kind)
    if where.file_name:
        cond.add("invoke_id IN (SELECT invoke_id FROM files WHERE name = ?)", where.file_name)
    if where.instance_id:
        cond.add(
            "invoke_id IN (SELECT invoke_id FROM targets WHERE instance_id = ?)",
            where.instance_id,
        )
    if where.status:
        cond.add(
            "(lower(status) = lower(?) OR lower(legacy_status) = lower(?))", *[where.status] * 2
        )
    if where.timed is not None:
        modes, statuses = st.REPEATING, st.STILL_RUNS  # as st.is_timed, the field
        timed = f"(repeat_mode IN ({marks(modes)}) AND status IN ({marks(statuses)}))"
        cond.add(timed if where.timed else f"NOT {timed}", *modes, *statuses)
    cond.tags("invocation", "invocations.invoke_id", where.tags)
    rows, total = page_of(c, "invocations", cond, "creation_time DESC, invoke_id", page)
    return Page(items=invocations_of(c, rows), total=total, request=page)


def list_results(c: Db, where: ResultFilter, page: PageRequest) -> Page[Result]:
    cond = Where()
    cond.equal("t.invoke_id", where.invoke_id)
    cond.equal("t.instance_id", where.instance_id)
    cond.equal("i.command_id", where.command_id)
    cond.equal("i.resource_group_id", where.resource_group_id)
    cond.equal("i.kind", where.kind)
    if where.statuses is not None:
        cond.within("t.status", where.statuses)
    cond.tags("invocation", "i.invoke_id", where.tags)
    source = "targets t JOIN invocations i ON i.invoke_id = t.invoke_id"
    total = c.execute(f"SELECT count(*) FROM {source}{cond.sql()}", cond.params).fetchone()[0]
    rows = c.execute(
        f"SELECT t.* FROM {source}{cond.sql()} "
        "ORDER BY i.creation_time DESC, t.invoke_id, t.instance_id LIMIT ? OFFSET ?",
        [*cond.params, page.limit, page.offset],
    ).fetchall()
    invoke_ids = list(dict.fromkeys(r["invoke_id"] for r in rows))
    found = invocations_of(c, invocation_rows(c, invoke_ids), with_targets=False)
    by_id = {inv.invoke_id: inv for inv in found}
    items = [Result(target=target_of(r), invocation=by_id[r["invoke_id"]]) for r in rows]
    return Page(items=items, total=int(total), request=page)


def stop_targets(c: Db, invoke_id: str, instance_ids: Sequence[str], now: float) -> None:
    cond = Where()
    cond.add("invoke_id = ?", invoke_id)
    if instance_ids:
        cond.within("instance_id", instance_ids)
    for old, new in (
        (RecordStatus.PENDING, RecordStatus.CANCELLED),
        (RecordStatus.SCHEDULED, RecordStatus.CANCELLED),
        (RecordStatus.RUNNING, RecordStatus.STOPPING),
    ):
        finish = now if st.is_terminal(new) else None
        c.execute(
            "UPDATE targets SET status = ?, stop_time = ?, update_time = ?, next_fire = NULL, "
            f"finish_time = coalesce(finish_time, ?){cond.sql()} AND status = ?",
            [new, now, now, finish, *cond.params, old],
        )
    c.execute("UPDATE invocations SET stop_time = ? WHERE invoke_id = ?", (now, invoke_id))
    refresh_status(c, [invoke_id])


def abort_undelivered(c: Db, queued_before: float, now: float, connected_since: float) -> int:
    rows = c.execute(
        "SELECT * FROM targets WHERE status = ? AND queued_at < ? "
        "AND (lease_until IS NULL OR lease_until < ?) AND (delivered_at IS NULL OR "
        "instance_id NOT IN (SELECT instance_id FROM instances WHERE last_heartbeat >= ?))",
        (RecordStatus.PENDING, queued_before, now, connected_since),
    ).fetchall()
    error = ("DeliveryTimeout", "The command delivery has been timeout.")
    return len(schedule.end_runs(c, [target_of(r) for r in rows], RecordStatus.ABORTED, error, now))


def modify_invocation(c: Db, invocation: Invocation, new_targets: Sequence[Target]) -> None:
    c.execute(
        "UPDATE invocations SET command_id = ?, content = ?, parameters = ?, frequency = ? "
        "WHERE invoke_id = ?",
        (
            invocation.command_id,
            invocation.content,
            None if invocation.parameters is None else json.dumps(invocation.parameters),
            invocation.frequency,
            invocation.invoke_id,
        ),
    )
    c.executemany(
        "UPDATE targets SET next_fire = ? WHERE invoke_id = ? AND instance_id = ?",
        [(t.next_fire, t.invoke_id, t.instance_id) for t in invocation.targets],
    )
    for target in new_targets:
        target.queued_at = target.queued_at or target.creation_time
        insert_row(c, "targets", TARGET_FIELDS, target_row(target))
    refresh_status(c, [invocation.invoke_id])
