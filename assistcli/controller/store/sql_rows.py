"""Row mapping and SQL building shared by the SQLite query modules."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence, Sized
from dataclasses import fields
from typing import Any

from assistcli.api import status as st
from assistcli.controller.models import Command, FileSpec, Invocation, PageRequest, Tag, Target
from assistcli.controller.store.db import LOCK, Db, Row

# Columns are the models' fields; tags, targets and files live in their own tables.
COMMAND_FIELDS = [f.name for f in fields(Command) if f.name != "tags"]
INVOCATION_FIELDS = [
    f.name for f in fields(Invocation) if f.name not in ("targets", "tags", "file")
]
TARGET_FIELDS = [f.name for f in fields(Target)]
FILE_FIELDS = [f.name for f in fields(FileSpec)]


def marks(values: Sized) -> str:
    """One placeholder per value: `?,?,?`."""
    return ",".join("?" * len(values))


class Where:
    """AND-ed SQL conditions with their parameters."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def within(self, column: str, values: Sequence[object]) -> None:
        self.add(f"{column} IN ({','.join('?' * len(values)) or 'NULL'})", *values)

    def equal(self, column: str, value: object | None) -> None:
        if value is not None and value != "":
            self.add(f"{column} = ?", value)

    def tags(self, resource_type: str, id_column: str, tags: Sequence[Tag]) -> None:
        for key, value in tags:
            match_value = " AND t.value = ?" if value else ""
            self.add(
                "EXISTS (SELECT 1 FROM tags t WHERE t.resource_type = ? AND t.resource_id = "
                f"{id_column} AND t.key = ?{match_value})",
                *([resource_type, key, value] if value else [resource_type, key]),
            )

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.clauses) if self.clauses else ""


def like_pattern(wildcard: str) -> str:
    """`web*` -> `web%`, with LIKE's own metacharacters escaped."""
    escaped = wildcard.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


RESOURCE_TABLES = {
    "command": ("commands", "command_id"),
    "invocation": ("invocations", "invoke_id"),
    "managedinstance": ("instances", "instance_id"),
    "activation": ("activations", "activation_id"),
}


# Row mapping ----------------------------------------------------------------------------------
def insert_row(c: Db, table: str, fields: list[str], row: Sequence[Any]) -> None:
    c.execute(
        f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})", row
    )


def page_of(c: Db, table: str, cond: Where, order: str, page: PageRequest) -> tuple[list[Row], int]:
    total = c.execute(f"SELECT count(*) FROM {table}{cond.sql()}", cond.params).fetchone()[0]
    rows = c.execute(
        f"SELECT * FROM {table}{cond.sql()} ORDER BY {order} LIMIT ? OFFSET ?",
        [*cond.params, page.limit, page.offset],
    ).fetchall()
    return rows, int(total)


def set_tags(c: Db, resource_type: str, resource_ids: Sequence[str], tags: Sequence[Tag]) -> None:
    c.executemany(
        "INSERT INTO tags (resource_type, resource_id, key, value) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (resource_type, resource_id, key) DO UPDATE SET value = excluded.value",
        [(resource_type, rid, key, value) for rid in resource_ids for key, value in tags],
    )


def tags_of(c: Db, resource_type: str, ids: Sequence[str]) -> dict[str, list[Tag]]:
    found: dict[str, list[Tag]] = {}
    if ids:
        rows = c.execute(
            f"SELECT resource_id, key, value FROM tags WHERE resource_type = ? AND resource_id IN "
            f"({','.join('?' * len(ids))}) ORDER BY key",
            [resource_type, *ids],
        )
        for rid, key, value in rows:
            found.setdefault(rid, []).append((key, value))
    return found


def invocation_rows(c: Db, invoke_ids: Sequence[str]) -> list[Row]:
    if not invoke_ids:
        return []
    marks = ",".join("?" * len(invoke_ids))
    return c.execute(
        f"SELECT * FROM invocations WHERE invoke_id IN ({marks})", invoke_ids
    ).fetchall()


def invocations_of(
    c: Db, rows: Sequence[Row], *, with_targets: bool = True, with_tags: bool = True
) -> list[Invocation]:
    """Invocations of `rows` with their file (SendFile) and, unless the caller says it needs
    none, their tags and every per-instance record (up to 100 each)."""
    ids = [r["invoke_id"] for r in rows]
    targets: dict[str, list[Target]] = {i: [] for i in ids}
    files: dict[str, FileSpec] = {}
    if ids and with_targets:
        query = f"SELECT * FROM targets WHERE invoke_id IN ({marks(ids)}) ORDER BY instance_id"
        for row in c.execute(query, ids):
            targets[row["invoke_id"]].append(target_of(row))
    if sends := [r["invoke_id"] for r in rows if r["kind"] == "file"]:
        for row in c.execute(f"SELECT * FROM files WHERE invoke_id IN ({marks(sends)})", sends):
            files[row["invoke_id"]] = file_of(row)
    tags = tags_of(c, "invocation", ids) if with_tags else {}
    return [
        invocation_of(
            r, targets[r["invoke_id"]], tags.get(r["invoke_id"], []), files.get(r["invoke_id"])
        )
        for r in rows
    ]


def refresh_status(c: Db, invoke_ids: Iterable[str]) -> None:
    """Recompute the task-level statuses from the per-instance ones (which statuses occur is
    all they depend on: SQLite finds those without handing every record to Python).

    Lock, then read: the invocation's row is locked (read with db.LOCK) before its records are
    read, so that under READ COMMITTED, of two transactions that each changed one record, the
    second reads the first's change once the first commits (no write skew). Invocations are
    locked in id order, so that two such transactions do not deadlock. Most changes leave the
    invocation's status as it was: then nothing is written."""
    for invoke_id in sorted(invoke_ids):
        current = c.execute(
            f"SELECT status, legacy_status FROM invocations WHERE invoke_id = ?{LOCK}",
            (invoke_id,),
        ).fetchone()
        if current is None:
            continue
        statuses = [
            row[0]
            for row in c.execute(
                "SELECT DISTINCT status FROM targets WHERE invoke_id = ?", (invoke_id,)
            )
        ]
        derived = (st.invocation_status(statuses), st.invoke_status(statuses))
        if derived != (current[0], current[1]):
            c.execute(
                "UPDATE invocations SET status = ?, legacy_status = ? WHERE invoke_id = ?",
                (*derived, invoke_id),
            )


def command_row(cmd: Command) -> tuple[Any, ...]:
    values = {name: getattr(cmd, name) for name in COMMAND_FIELDS}
    values["enable_parameter"] = int(cmd.enable_parameter)
    values["parameter_names"] = json.dumps(cmd.parameter_names)
    return tuple(values.values())


def command_of(row: Row, tags: list[Tag]) -> Command:
    values = {name: row[name] for name in COMMAND_FIELDS}
    values["enable_parameter"] = bool(values["enable_parameter"])
    values["parameter_names"] = json.loads(values["parameter_names"])
    return Command(**values, tags=tags)


def invocation_row(inv: Invocation) -> tuple[Any, ...]:
    values = {name: getattr(inv, name) for name in INVOCATION_FIELDS}
    values["parameters"] = None if inv.parameters is None else json.dumps(inv.parameters)
    return tuple(values.values())


def invocation_of(
    row: Row, targets: list[Target], tags: list[Tag], file: FileSpec | None = None
) -> Invocation:
    values = {name: row[name] for name in INVOCATION_FIELDS}
    values["parameters"] = (
        None if values["parameters"] is None else json.loads(values["parameters"])
    )
    values["repeat_mode"] = st.RepeatMode(values["repeat_mode"])
    values["status"] = st.InvocationStatus(values["status"])
    values["legacy_status"] = st.LegacyStatus(values["legacy_status"])
    return Invocation(**values, targets=targets, tags=tags, file=file)


def file_row(invoke_id: str, spec: FileSpec) -> tuple[Any, ...]:
    return (invoke_id, *(getattr(spec, name) for name in FILE_FIELDS))


def file_of(row: Row) -> FileSpec:
    spec = FileSpec(**{name: row[name] for name in FILE_FIELDS})
    spec.overwrite = bool(spec.overwrite)
    return spec


def target_row(target: Target) -> tuple[Any, ...]:
    return tuple(getattr(target, name) for name in TARGET_FIELDS)


def target_of(row: Row) -> Target:
    values = {name: row[name] for name in TARGET_FIELDS}
    values["status"] = st.RecordStatus(values["status"])
    return Target(**values)


# What a run changes on its record (the rest is fixed at creation or by the scheduler).
TARGET_MUTABLE = (
    "status",
    "start_time",
    "update_time",
    "finish_time",
    "exit_code",
    "output",
    "dropped",
    "error_code",
    "error_info",
    "repeats",
    "report_seq",
)


def update_records(c: Db, records: Iterable[Target]) -> None:
    assignments = ", ".join(f"{name} = ?" for name in TARGET_MUTABLE)
    c.executemany(
        f"UPDATE targets SET {assignments} WHERE invoke_id = ? AND instance_id = ?",
        [
            (*(getattr(t, name) for name in TARGET_MUTABLE), t.invoke_id, t.instance_id)
            for t in records
        ],
    )
