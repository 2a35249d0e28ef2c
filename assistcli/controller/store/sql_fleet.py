"""SQLite queries for the fleet: activations, instances, leased delivery and agent reports.

Plain functions of a connection; `SqliteStore` runs each inside one transaction on its writer
thread, which makes every claim and every batch of reports atomic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from assistcli.api import status as st
from assistcli.api.agent import HostFacts, Report
from assistcli.api.status import RecordStatus
from assistcli.controller.models import (
    Activation,
    Delivery,
    Heartbeat,
    Instance,
    InstanceFilter,
    InstanceStats,
    Page,
    PageRequest,
    Tag,
)
from assistcli.controller.records import apply_report
from assistcli.controller.store import sql_admin as admin
from assistcli.controller.store import sql_output as output
from assistcli.controller.store import sql_schedule as schedule
from assistcli.controller.store.db import CLAIM, LOCK, Db, Row
from assistcli.controller.store.sql_rows import (
    Where,
    insert_row,
    invocation_rows,
    invocations_of,
    marks,
    page_of,
    refresh_status,
    tags_of,
    target_of,
    update_records,
)

INSTANCE_FIELDS = [f.name for f in fields(Instance) if f.name != "tags"]
ACTIVATION_FIELDS = [f.name for f in fields(Activation) if f.name != "tags"]
# What a poll may change of an instance's host facts; machine_id is fixed at registration.
FACT_FIELDS = [
    "agent_version",
    "os_type",
    "os_version",
    "hostname",
    "boot_id",
    "timezone",
    "interpreters",
]


# Instances ------------------------------------------------------------------------------------
def instance_row(instance: Instance) -> tuple[Any, ...]:
    values = {name: getattr(instance, name) for name in INSTANCE_FIELDS}
    values["interpreters"] = json.dumps(instance.interpreters)
    return tuple(values.values())


def instance_of(row: Row, tags: list[Tag]) -> Instance:
    values = {name: row[name] for name in INSTANCE_FIELDS}
    values["interpreters"] = json.loads(values["interpreters"])
    return Instance(**values, tags=tags)


def add_instance(c: Db, instance: Instance) -> None:
    insert_row(c, "instances", INSTANCE_FIELDS, instance_row(instance))


def list_instances(c: Db, where: InstanceFilter, page: PageRequest) -> Page[Instance]:
    cond = Where()
    if where.instance_ids:
        cond.within("instance_id", where.instance_ids)
    for column in ("instance_name", "activation_id", "os_type", "machine_id", "resource_group_id"):
        cond.equal(column, getattr(where, column))
    if where.instance_ip:
        cond.add("(intranet_ip = ? OR internet_ip = ?)", where.instance_ip, where.instance_ip)
    if where.connected_since is not None:
        cond.add("last_heartbeat >= ?", where.connected_since)
    if where.disconnected_before is not None:
        cond.add("(last_heartbeat IS NULL OR last_heartbeat < ?)", where.disconnected_before)
    cond.tags("managedinstance", "instances.instance_id", where.tags)
    rows, total = page_of(c, "instances", cond, "registration_time, instance_id", page)
    tags = tags_of(c, "managedinstance", [r["instance_id"] for r in rows])
    items = [instance_of(r, tags.get(r["instance_id"], [])) for r in rows]
    return Page(items=items, total=total, request=page)


def instance_stats(c: Db, instance_ids: Sequence[str]) -> dict[str, InstanceStats]:
    cond = Where()
    cond.within("t.instance_id", instance_ids)
    rows = c.execute(
        "SELECT t.instance_id, count(*), max(i.creation_time), "
        f"count(CASE WHEN t.status IN ({marks(st.EXECUTING)}) THEN 1 END) "
        "FROM targets t JOIN invocations i "
        f"ON i.invoke_id = t.invoke_id{cond.sql()} GROUP BY t.instance_id",
        [*st.EXECUTING, *cond.params],
    )
    stats = {i: InstanceStats() for i in instance_ids}
    for instance_id, count, last, active in rows:
        stats[instance_id] = InstanceStats(
            invocation_count=count, last_invoked_time=last, active_task_count=active
        )
    return stats


RELEASED = ("InstanceReleased", "The specified instance was released during task execution.")


def deregister_instance(c: Db, instance_id: str, now: float) -> Instance | None:
    page = list_instances(c, InstanceFilter(instance_ids=[instance_id]), PageRequest(limit=1))
    # Deleted first, conditionally: of two controllers deregistering it at once, one goes on.
    if (
        not page.items
        or not c.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,)).rowcount
    ):
        return None
    unended = f"instance_id = ? AND status IN ({marks(st.ACTIVE)})"
    c.execute(  # nothing of it will run or report again
        f"UPDATE targets SET next_fire = NULL, stop_time = ? WHERE {unended}",
        (now, instance_id, *st.ACTIVE),
    )
    active = [
        target_of(r)
        for r in c.execute(f"SELECT * FROM targets WHERE {unended}", (instance_id, *st.ACTIVE))
    ]
    ran = [r for r in active if r.status in st.EXECUTING]
    schedule.end_runs(c, ran, RecordStatus.TERMINATED, RELEASED, now)
    schedule.end_runs(c, [r for r in active if r not in ran], RecordStatus.ABORTED, RELEASED, now)
    c.execute(
        "DELETE FROM tags WHERE resource_type = 'managedinstance' AND resource_id = ?",
        (instance_id,),
    )
    c.execute(
        "UPDATE activations SET deregistered_count = deregistered_count + 1 "
        "WHERE activation_id = ?",
        (page.items[0].activation_id,),
    )
    admin.append_deregistration(c, instance_id, now)
    return page.items[0]


def record_heartbeats(c: Db, beats: Sequence[Heartbeat]) -> None:
    c.executemany(
        "UPDATE instances SET last_heartbeat = ?, active_task_count = ? WHERE instance_id = ?",
        [(b.time, b.active_tasks, b.instance_id) for b in beats],
    )
    assignments = ", ".join(f"{name} = ?" for name in FACT_FIELDS)
    c.executemany(
        f"UPDATE instances SET {assignments} WHERE instance_id = ?",
        [(*fact_values(b.facts), b.instance_id) for b in beats if b.facts is not None],
    )


def fact_values(facts: HostFacts) -> list[Any]:
    values = [getattr(facts, name) for name in FACT_FIELDS]
    values[FACT_FIELDS.index("interpreters")] = json.dumps(facts.interpreters)
    return values


# Activations ----------------------------------------------------------------------------------
def activation_row(activation: Activation) -> tuple[Any, ...]:
    values = {name: getattr(activation, name) for name in ACTIVATION_FIELDS}
    values["disabled"] = int(activation.disabled)
    return tuple(values.values())


def activation_of(row: Row, tags: list[Tag]) -> Activation:
    values = {name: row[name] for name in ACTIVATION_FIELDS}
    values["disabled"] = bool(values["disabled"])
    return Activation(**values, tags=tags)


def insert_activation(c: Db, activation: Activation) -> None:
    insert_row(c, "activations", ACTIVATION_FIELDS, activation_row(activation))
    c.executemany(
        "INSERT INTO tags (resource_type, resource_id, key, value) VALUES ('activation', ?, ?, ?)",
        [(activation.activation_id, key, value) for key, value in activation.tags],
    )


def list_activations(
    c: Db,
    activation_id: str | None,
    instance_name: str | None,
    resource_group_id: str | None,
    tags: Sequence[Tag],
    page: PageRequest,
) -> Page[Activation]:
    cond = Where()
    cond.equal("activation_id", activation_id)
    cond.equal("instance_name", instance_name)
    cond.equal("resource_group_id", resource_group_id)
    cond.tags("activation", "activations.activation_id", tags)
    rows, total = page_of(c, "activations", cond, "creation_time DESC, activation_id", page)
    found = tags_of(c, "activation", [r["activation_id"] for r in rows])
    items = [activation_of(r, found.get(r["activation_id"], [])) for r in rows]
    return Page(items=items, total=total, request=page)


def register_instance(c: Db, instance: Instance, prefix: str | None) -> bool:
    counted = c.execute(
        "UPDATE activations SET registered_count = registered_count + 1 "
        "WHERE activation_id = ? AND registered_count < instance_count",
        (instance.activation_id,),
    ).rowcount
    if not counted:
        return False
    if prefix is not None:  # numbered in the transaction that counts it: no two share a number
        number, count = c.execute(
            "SELECT registered_count, instance_count FROM activations WHERE activation_id = ?",
            (instance.activation_id,),
        ).fetchone()
        instance.instance_name = f"{prefix}-{number:0{len(str(count))}d}"
    add_instance(c, instance)
    return True


# Delivery -------------------------------------------------------------------------------------
def claim_deliveries(
    c: Db,
    instance_id: str,
    now: float,
    lease: float,
    limit: int,
    holding: Sequence[str],
) -> list[Delivery]:
    # `x NOT IN ()` cannot be written, and `NOT IN (NULL)` is never true: no holding, no lease.
    lost = f"invoke_id NOT IN ({marks(holding)})" if holding else "TRUE"
    claimable = f"status = ? AND (lease_until IS NULL OR lease_until < ? OR {lost})"
    claimable_params = (RecordStatus.PENDING, now, *holding)
    rows = c.execute(
        f"SELECT * FROM targets WHERE instance_id = ? AND {claimable} "
        f"ORDER BY creation_time, invoke_id LIMIT ?{CLAIM}",
        (instance_id, *claimable_params, limit),
    ).fetchall()
    if not rows:
        return []
    # The task needs the instance's own fields (its name for the built-in parameters), not tags.
    found = c.execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
    if found is None:
        return []  # deregistered meanwhile
    # The rows read are this transaction's until it commits (locked, or SQLite's one writer):
    # of two claims racing for a record, the other skipped it or reads it leased.
    ids = [row["invoke_id"] for row in rows]
    c.execute(
        "UPDATE targets SET delivered_at = coalesce(delivered_at, ?), lease_until = ? "
        f"WHERE instance_id = ? AND invoke_id IN ({marks(ids)})",
        (now, now + lease, instance_id, *ids),
    )
    return _deliveries(c, instance_of(found, []), rows, now, lease)


def _deliveries(
    c: Db, instance: Instance, rows: list[Row], now: float, lease: float
) -> list[Delivery]:
    rows_of = invocation_rows(c, [r["invoke_id"] for r in rows])
    found = invocations_of(c, rows_of, with_targets=False, with_tags=False)  # what a task needs
    invocations = {inv.invoke_id: inv for inv in found}
    deliveries = []
    for row in rows:
        target = target_of(row)
        target.delivered_at = target.delivered_at or now
        target.lease_until = now + lease
        deliveries.append(
            Delivery(target=target, invocation=invocations[target.invoke_id], instance=instance)
        )
    return deliveries


def instances_with_news(c: Db) -> list[str]:
    rows = c.execute(  # the targets_pending index: (status, creation_time)
        "SELECT DISTINCT instance_id FROM targets "
        "WHERE status = ? OR (status = ? AND lease_until IS NULL)",
        (RecordStatus.STOPPING, RecordStatus.PENDING),
    )
    return [row[0] for row in rows]


def records_to_cancel(c: Db, instance_id: str, invoke_ids: Sequence[str]) -> list[str]:
    cond = Where()
    cond.within("invoke_id", invoke_ids)
    cond.add("instance_id = ?", instance_id)
    cond.add("status NOT IN (?, ?)", RecordStatus.PENDING, RecordStatus.RUNNING)
    return [r[0] for r in c.execute(f"SELECT invoke_id FROM targets{cond.sql()}", cond.params)]


def apply_reports(
    c: Db,
    instance_id: str,
    reports: Sequence[Report],
    now: float,
    output_limit: int,
    output_cap: int = 0,
) -> set[str]:
    invoke_ids = list(dict.fromkeys(r.invoke_id for r in reports))
    cond = Where()
    cond.within("invoke_id", invoke_ids)
    cond.add("instance_id = ?", instance_id)
    # Lock, then read: the same batch sent through two controllers is applied by whichever
    # locks first, and the other then reads its report_seq and skips it.
    records = {
        row["invoke_id"]: target_of(row)
        for row in c.execute(f"SELECT * FROM targets{cond.sql()}{LOCK}", cond.params)
    }
    modes = schedule.repeat_modes(c, records)
    for report in reports:
        record = records.get(report.invoke_id)
        if record is None or report.run != record.run:
            continue  # not this instance's, or about a run that is over
        if report.seq > record.report_seq:
            output.append(c, record, report.output, output_limit, output_cap, now)
            apply_report(record, report)
            record.report_seq, record.update_time = report.seq, now
            schedule.settle(c, record, modes[record.invoke_id])
    update_records(c, records.values())
    refresh_status(c, records)
    return set(invoke_ids) - set(records)


def abandon_silent_runs(c: Db, now: float, silent_for: float) -> int:
    rows = c.execute(
        "SELECT t.* FROM targets t JOIN invocations i ON i.invoke_id = t.invoke_id "
        f"WHERE t.status IN ({marks(st.EXECUTING)}) AND t.start_time + i.timeout + ? < ? "
        "AND t.instance_id IN "
        "(SELECT instance_id FROM instances WHERE coalesce(last_heartbeat, 0) < ?)",
        (*st.EXECUTING, silent_for, now, now - silent_for),
    ).fetchall()
    error = ("ClientNotResponse", "The agent on the instance does not respond.")
    return len(schedule.end_runs(c, [target_of(r) for r in rows], RecordStatus.ERROR, error, now))
