"""The Store methods of both SQL backends: each runs one query function (sql_*.py) in one
transaction. A backend supplies only its connections: `_run(work, *args)` calls
`work(db, *args)` inside a transaction and commits it (sqlite.py, postgres.py)."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from assistcli.api.agent import Report
from assistcli.controller.models import (
    AccessKey,
    Activation,
    AgentKey,
    Command,
    CommandFilter,
    Delivery,
    Fire,
    Heartbeat,
    Instance,
    InstanceFilter,
    InstanceStats,
    Invocation,
    InvocationFilter,
    Page,
    PageRequest,
    Result,
    ResultFilter,
    RunReport,
    Tag,
    Target,
    TokenClaim,
    TokenResult,
)
from assistcli.controller.store import sql_admin as admin
from assistcli.controller.store import sql_fleet as fleet
from assistcli.controller.store import sql_official as official
from assistcli.controller.store import sql_output as output
from assistcli.controller.store import sql_schedule as schedule
from assistcli.controller.store import sql_tags as tagging
from assistcli.controller.store import sql_tasks as tasks
from assistcli.controller.store.base import Store
from assistcli.controller.store.db import Db
from assistcli.controller.store.sql_rows import (
    COMMAND_FIELDS,
    Where,
    command_of,
    command_row,
    insert_row,
    like_pattern,
    page_of,
    set_tags,
    tags_of,
)
from assistcli.errors import ApiError

R = TypeVar("R")

NONCE_PURGE_INTERVAL = 60.0


class SqlStore(Store):
    def __init__(self) -> None:
        self._next_nonce_purge = 0.0
        self._next_token_purge = 0.0

    @abc.abstractmethod
    async def _run(self, work: Callable[..., R], *args: Any) -> R:
        """`work(db, *args)` in one transaction, committed before this returns."""

    async def check_writable(self, now: float) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT INTO store_checks (id, checked_at) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                (now,),
            )
        )

    # Authentication ---------------------------------------------------------------------------
    async def add_access_key(self, access_key_id: str, secret: str, now: float) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT INTO access_keys (access_key_id, secret, created_at) VALUES (?, ?, ?)",
                (access_key_id, secret, now),
            )
        )

    async def get_access_key(self, access_key_id: str) -> AccessKey | None:
        return await self._run(admin.get_access_key, access_key_id)

    async def list_access_keys(self) -> list[AccessKey]:
        return await self._run(admin.list_access_keys)

    async def set_access_key_enabled(self, access_key_id: str, enabled: bool) -> bool:
        return await self._run(admin.set_access_key_enabled, access_key_id, enabled)

    async def delete_access_key(self, access_key_id: str) -> bool:
        return await self._run(admin.delete_access_key, access_key_id)

    async def record_access_key_use(self, access_key_id: str, now: float) -> None:
        await self._run(
            lambda c: c.execute(
                "UPDATE access_keys SET last_used = ? WHERE access_key_id = ?",
                (now, access_key_id),
            )
        )

    async def use_nonce(self, nonce: str, now: float, keep_for: float) -> bool:
        def record(c: Db) -> bool:
            if now >= self._next_nonce_purge:
                c.execute("DELETE FROM nonces WHERE used_at < ?", (now - keep_for,))
                self._next_nonce_purge = now + NONCE_PURGE_INTERVAL
            recorded = c.execute(  # one statement: two controllers cannot both accept it
                "INSERT INTO nonces VALUES (?, ?) ON CONFLICT (nonce) DO UPDATE SET "
                "used_at = excluded.used_at WHERE nonces.used_at < ?",
                (nonce, now, now - keep_for),
            ).rowcount
            return bool(recorded)

        return await self._run(record)

    # Idempotency ----------------------------------------------------------------------------------
    async def claim_token(
        self, scope: str, token: str, fingerprint: str, now: float, stale_after: float, keep: float
    ) -> TokenClaim:
        def claim(c: Db) -> TokenClaim:
            if now >= self._next_token_purge:
                c.execute("DELETE FROM client_tokens WHERE created_at < ?", (now - keep,))
                self._next_token_purge = now + NONCE_PURGE_INTERVAL
            taken = c.execute(
                "INSERT INTO client_tokens (scope, token, fingerprint, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (scope, token) DO UPDATE SET "
                "fingerprint = excluded.fingerprint, created_at = excluded.created_at "
                "WHERE client_tokens.result IS NULL AND client_tokens.created_at < ?",
                (scope, token, fingerprint, now, now - stale_after),
            ).rowcount
            if taken:
                return TokenClaim(fresh=True, fingerprint=fingerprint, claimed_at=now)
            row = c.execute(
                "SELECT fingerprint, result, created_at FROM client_tokens "
                "WHERE scope = ? AND token = ?",
                (scope, token),
            ).fetchone()
            return TokenClaim(fresh=False, fingerprint=row[0], result=row[1], claimed_at=row[2])

        return await self._run(claim)

    async def finish_token(self, finished: TokenResult) -> bool:
        return await self._run(finish_token, finished)

    async def release_token(self, scope: str, token: str) -> None:
        await self._run(
            lambda c: c.execute(
                "DELETE FROM client_tokens WHERE scope = ? AND token = ? AND result IS NULL",
                (scope, token),
            )
        )

    # Commands -------------------------------------------------------------------------------------
    async def insert_command(self, command: Command, finished: TokenResult | None = None) -> None:
        def insert(c: Db) -> None:
            insert_command(c, command)
            finishing(c, finished)

        await self._run(insert)

    async def get_command(self, command_id: str) -> Command | None:
        page = await self.list_commands(CommandFilter(command_id=command_id), PageRequest(limit=1))
        return page.items[0] if page.items else None

    async def update_command(self, command: Command) -> None:
        await self._run(
            lambda c: c.execute(
                "UPDATE commands SET name = ?, description = ?, working_dir = ?, timeout = ?, "
                "launcher = ? WHERE command_id = ?",
                (
                    command.name,
                    command.description,
                    command.working_dir,
                    command.timeout,
                    command.launcher,
                    command.command_id,
                ),
            )
        )

    async def delete_command(self, command_id: str) -> bool:
        def delete(c: Db) -> bool:
            c.execute(
                "DELETE FROM tags WHERE resource_type = 'command' AND resource_id = ?",
                (command_id,),
            )
            return (
                c.execute("DELETE FROM commands WHERE command_id = ?", (command_id,)).rowcount > 0
            )

        return await self._run(delete)

    async def count_commands(self) -> int:
        return await self._run(
            lambda c: int(c.execute("SELECT count(*) FROM commands").fetchone()[0])
        )

    async def list_commands(self, where: CommandFilter, page: PageRequest) -> Page[Command]:
        cond = Where()
        cond.equal("command_id", where.command_id)
        cond.equal("type", where.type)
        cond.equal("resource_group_id", where.resource_group_id)
        for column, value in (("name", where.name), ("description", where.description)):
            if value:
                # Case-insensitive on both backends (SQLite's LIKE is; PostgreSQL's is not).
                cond.add(f"lower({column}) LIKE lower(?) ESCAPE '\\'", like_pattern(value))
        cond.tags("command", "commands.command_id", where.tags)

        def read(c: Db) -> Page[Command]:
            rows, total = page_of(c, "commands", cond, "creation_time DESC, command_id", page)
            tags = tags_of(c, "command", [r["command_id"] for r in rows])
            items = [command_of(r, tags.get(r["command_id"], [])) for r in rows]
            return Page(items=items, total=total, request=page)

        return await self._run(read)

    # Instances ------------------------------------------------------------------------------------
    async def add_instance(self, instance: Instance) -> None:
        await self._run(fleet.add_instance, instance)

    async def instances_tagged(self, tags: Sequence[Tag]) -> list[str]:
        cond = Where()
        cond.tags("managedinstance", "instances.instance_id", tags)
        sql = f"SELECT instance_id FROM instances{cond.sql()} ORDER BY instance_id"
        return await self._run(lambda c: [row[0] for row in c.execute(sql, cond.params)])

    # Invocations ----------------------------------------------------------------------------------
    async def insert_invocation(
        self,
        invocation: Invocation,
        command: Command | None = None,
        finished: TokenResult | None = None,
    ) -> None:
        def insert(c: Db) -> None:
            if command is not None:
                insert_command(c, command)
            tasks.insert_invocation(c, invocation)
            finishing(c, finished)

        await self._run(insert)

    async def get_invocation(self, invoke_id: str) -> Invocation | None:
        page = await self.list_invocations(
            InvocationFilter(invoke_id=invoke_id), PageRequest(limit=1)
        )
        return page.items[0] if page.items else None

    async def list_invocations(
        self, where: InvocationFilter, page: PageRequest
    ) -> Page[Invocation]:
        return await self._run(tasks.list_invocations, where, page)

    async def list_results(self, where: ResultFilter, page: PageRequest) -> Page[Result]:
        return await self._run(tasks.list_results, where, page)

    async def stop_targets(self, invoke_id: str, instance_ids: Sequence[str], now: float) -> None:
        await self._run(tasks.stop_targets, invoke_id, instance_ids, now)

    async def abort_undelivered(
        self, queued_before: float, now: float, connected_since: float
    ) -> int:
        return await self._run(tasks.abort_undelivered, queued_before, now, connected_since)

    async def abandon_silent_runs(self, now: float, silent_for: float) -> int:
        return await self._run(fleet.abandon_silent_runs, now, silent_for)

    # Fleet --------------------------------------------------------------------------------------
    async def get_instance(self, instance_id: str) -> Instance | None:
        page = await self.list_instances(InstanceFilter(instance_ids=[instance_id]), PageRequest())
        return page.items[0] if page.items else None

    async def list_instances(self, where: InstanceFilter, page: PageRequest) -> Page[Instance]:
        return await self._run(fleet.list_instances, where, page)

    async def instance_stats(self, instance_ids: Sequence[str]) -> dict[str, InstanceStats]:
        return await self._run(fleet.instance_stats, instance_ids)

    async def rename_instance(self, instance_id: str, name: str) -> bool:
        return await self._run(
            lambda c: (
                c.execute(
                    "UPDATE instances SET instance_name = ? WHERE instance_id = ?",
                    (name, instance_id),
                ).rowcount
                > 0
            )
        )

    async def deregister_instance(self, instance_id: str, now: float) -> Instance | None:
        return await self._run(fleet.deregister_instance, instance_id, now)

    async def deregistrations(self, after: int | None) -> tuple[list[str], int]:
        return await self._run(admin.deregistrations, after)

    async def controller_seen(self, controller_id: str, applied: int | None, now: float) -> None:
        await self._run(admin.controller_seen, controller_id, applied, now)

    async def controllers_behind(self, position: int, seen_since: float) -> list[str]:
        return await self._run(admin.controllers_behind, position, seen_since)

    async def record_heartbeats(self, beats: Sequence[Heartbeat]) -> None:
        if beats:
            await self._run(fleet.record_heartbeats, beats)

    async def insert_activation(
        self, activation: Activation, finished: TokenResult | None = None
    ) -> None:
        def insert(c: Db) -> None:
            fleet.insert_activation(c, activation)
            finishing(c, finished)

        await self._run(insert)

    async def get_activation(self, activation_id: str) -> Activation | None:
        page = await self.list_activations(activation_id, None, None, [], PageRequest(limit=1))
        return page.items[0] if page.items else None

    async def list_activations(
        self,
        activation_id: str | None,
        instance_name: str | None,
        resource_group_id: str | None,
        tags: Sequence[Tag],
        page: PageRequest,
    ) -> Page[Activation]:
        return await self._run(
            fleet.list_activations, activation_id, instance_name, resource_group_id, tags, page
        )

    async def disable_activation(self, activation_id: str) -> None:
        await self._run(
            lambda c: c.execute(
                "UPDATE activations SET disabled = 1 WHERE activation_id = ?", (activation_id,)
            )
        )

    async def delete_activation(self, activation_id: str) -> None:
        def delete(c: Db) -> None:
            c.execute("DELETE FROM activations WHERE activation_id = ?", (activation_id,))
            c.execute(
                "DELETE FROM tags WHERE resource_type = 'activation' AND resource_id = ?",
                (activation_id,),
            )

        await self._run(delete)

    async def register_instance(self, instance: Instance, prefix: str | None = None) -> bool:
        return await self._run(fleet.register_instance, instance, prefix)

    async def claim_deliveries(
        self, instance_id: str, now: float, lease: float, limit: int, holding: Sequence[str]
    ) -> list[Delivery]:
        return await self._run(fleet.claim_deliveries, instance_id, now, lease, limit, holding)

    async def instances_with_news(self) -> list[str]:
        return await self._run(fleet.instances_with_news)

    async def records_to_cancel(self, instance_id: str, invoke_ids: Sequence[str]) -> list[str]:
        if not invoke_ids:
            return []
        return await self._run(fleet.records_to_cancel, instance_id, invoke_ids)

    async def apply_reports(
        self,
        instance_id: str,
        reports: Sequence[Report],
        now: float,
        output_limit: int,
        output_cap: int = 0,
    ) -> set[str]:
        if not reports:
            return set()
        return await self._run(
            fleet.apply_reports, instance_id, reports, now, output_limit, output_cap
        )

    async def read_output(
        self, invoke_id: str, instance_id: str, run: int, start: int, limit: int
    ) -> tuple[int, bytes] | None:
        return await self._run(output.read, invoke_id, instance_id, run, start, limit)

    async def purge_output(self, before: float, limit: int) -> int:
        return await self._run(output.purge, before, limit)

    # Alibaba's agent (aliyun-service) ------------------------------------------------------------
    async def register_keyed_instance(
        self, instance: Instance, prefix: str | None, key: AgentKey
    ) -> bool:
        return await self._run(official.register, instance, prefix, key)

    async def get_agent_key(self, instance_id: str) -> AgentKey | None:
        return await self._run(official.key_of, instance_id)

    async def agent_schedules(self, instance_id: str) -> list[Result]:
        return await self._run(official.schedules, instance_id)

    async def records_to_stop(self, instance_id: str, stopped_since: float) -> list[Result]:
        return await self._run(official.to_stop, instance_id, stopped_since)

    async def apply_run_reports(
        self, instance_id: str, reports: Sequence[RunReport], now: float, output_limit: int
    ) -> None:
        if reports:
            await self._run(official.apply_reports, instance_id, reports, now, output_limit)

    # Schedules ------------------------------------------------------------------------------------
    async def claim_due(self, now: float, limit: int, lease: float) -> list[Result]:
        return await self._run(schedule.claim_due, now, limit, lease)

    async def next_due(self) -> float | None:
        return await self._run(schedule.next_due)

    async def record_fires(self, fires: Sequence[Fire], now: float) -> list[Fire]:
        return await self._run(schedule.record_fires, fires, now) if fires else []

    async def fire_reboots(self, instance_id: str, boot_id: str, now: float) -> list[str]:
        return await self._run(schedule.fire_reboots, instance_id, boot_id, now)

    async def run_history(
        self, invoke_id: str, instance_id: str | None, page: PageRequest
    ) -> Page[Result]:
        items, total = await self._run(
            schedule.history, invoke_id, instance_id, page.limit, page.offset
        )
        return Page(items=items, total=total, request=page)

    async def modify_invocation(
        self, invocation: Invocation, new_targets: Sequence[Target]
    ) -> None:
        await self._run(tasks.modify_invocation, invocation, new_targets)

    # Tags -----------------------------------------------------------------------------------------
    async def existing_resources(self, resource_type: str, resource_ids: Sequence[str]) -> set[str]:
        if not resource_ids:
            return set()
        return await self._run(tagging.existing_resources, resource_type, resource_ids)

    async def tag(
        self, resource_type: str, resource_ids: Sequence[str], tags: Sequence[Tag]
    ) -> None:
        await self._run(set_tags, resource_type, resource_ids, tags)

    async def untag(
        self, resource_type: str, resource_ids: Sequence[str], keys: Sequence[str] | None
    ) -> None:
        await self._run(tagging.untag, resource_type, resource_ids, keys)

    async def list_tags(
        self,
        resource_type: str,
        resource_ids: Sequence[str],
        tags: Sequence[Tag],
        page: PageRequest,
    ) -> Page[tuple[str, str, str]]:
        return await self._run(tagging.list_tags, resource_type, resource_ids, tags, page)

    async def tag_count(self, resource_type: str, resource_id: str) -> int:
        return await self._run(tagging.tag_count, resource_type, resource_id)


def insert_command(c: Db, command: Command) -> None:
    insert_row(c, "commands", COMMAND_FIELDS, command_row(command))
    set_tags(c, "command", [command.command_id], command.tags)


def finish_token(c: Db, finished: TokenResult) -> bool:
    return bool(
        c.execute(
            "UPDATE client_tokens SET result = ? WHERE scope = ? AND token = ? "
            "AND created_at = ? AND result IS NULL",
            (finished.result, finished.scope, finished.token, finished.claimed_at),
        ).rowcount
    )


def finishing(c: Db, finished: TokenResult | None) -> None:
    """Store a ClientToken's result with the changes of its request, which are undone (this
    job's savepoint is rolled back) if another request took the claim over meanwhile."""
    if finished is not None and not finish_token(c, finished):
        raise ApiError("IdempotentProcessing")
