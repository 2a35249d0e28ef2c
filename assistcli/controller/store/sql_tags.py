"""SQLite queries for tags of commands, invocations, activations and managed instances."""

from __future__ import annotations

from collections.abc import Sequence

from assistcli.controller.models import Page, PageRequest, Tag
from assistcli.controller.store.db import Db
from assistcli.controller.store.sql_rows import RESOURCE_TABLES, Where, page_of


def existing_resources(c: Db, resource_type: str, resource_ids: Sequence[str]) -> set[str]:
    table, column = RESOURCE_TABLES[resource_type]
    cond = Where()
    cond.within(column, resource_ids)
    return {row[0] for row in c.execute(f"SELECT {column} FROM {table}{cond.sql()}", cond.params)}


def untag(
    c: Db,
    resource_type: str,
    resource_ids: Sequence[str],
    keys: Sequence[str] | None,
) -> None:
    cond = Where()
    cond.add("resource_type = ?", resource_type)
    cond.within("resource_id", resource_ids)
    if keys is not None:
        cond.within("key", keys)
    c.execute(f"DELETE FROM tags{cond.sql()}", cond.params)


def list_tags(
    c: Db,
    resource_type: str,
    resource_ids: Sequence[str],
    tags: Sequence[Tag],
    page: PageRequest,
) -> Page[tuple[str, str, str]]:
    cond = Where()
    cond.add("tags.resource_type = ?", resource_type)
    if resource_ids:
        cond.within("tags.resource_id", resource_ids)
    cond.tags(resource_type, "tags.resource_id", tags)
    rows, total = page_of(c, "tags", cond, "resource_id, key", page)
    items = [(r["resource_id"], r["key"], r["value"]) for r in rows]
    return Page(items=items, total=total, request=page)


def tag_count(c: Db, resource_type: str, resource_id: str) -> int:
    row = c.execute(
        "SELECT count(*) FROM tags WHERE resource_type = ? AND resource_id = ?",
        (resource_type, resource_id),
    ).fetchone()
    return int(row[0])
