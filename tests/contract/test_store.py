"""The Store contract (see assistcli/controller/store/base.py), run against every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from backends import BACKENDS

from assistcli.api.agent import HostFacts, Report
from assistcli.api.status import RecordStatus, RepeatMode
from assistcli.controller import views
from assistcli.controller.models import (
    Activation,
    Command,
    CommandFilter,
    Heartbeat,
    Instance,
    InstanceFilter,
    Invocation,
    InvocationFilter,
    PageRequest,
    ResultFilter,
    Target,
    TokenResult,
)
from assistcli.controller.store import Store
from assistcli.errors import ApiError

Scenario = Callable[[Store], Awaitable[None]]


@pytest.fixture(params=sorted(BACKENDS))
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Scenario], None]:
    """run(scenario): open a fresh store of the backend, run the scenario, close the store."""
    make = BACKENDS[request.param]

    def runner(scenario: Scenario) -> None:
        async def main() -> None:
            store = make(tmp_path)
            await store.open()
            try:
                await scenario(store)
            finally:
                await store.close()

        asyncio.run(main())

    return runner


def command(command_id: str, name: str = "cmd", **extra: object) -> Command:
    return Command(
        command_id=command_id,
        name=name,
        type="RunShellScript",
        content=b"echo 1",
        creation_time=float(len(command_id)),
        **extra,  # type: ignore[arg-type]
    )


def invocation(invoke_id: str, *instances: str, created: float = 100.0) -> Invocation:
    return Invocation(
        invoke_id=invoke_id,
        command_id="c-1",
        command_name="cmd",
        command_type="RunShellScript",
        content=b"echo 1",
        creation_time=created,
        targets=[
            Target(
                invoke_id=invoke_id,
                instance_id=i,
                status=RecordStatus.PENDING,
                creation_time=created,
            )
            for i in instances
        ],
    )


def test_reopening_keeps_data_and_applies_migrations_once(
    run: Callable[[Scenario], None],
) -> None:
    async def write(store: Store) -> None:
        await store.add_access_key("ak", "secret", 1.0)

    async def read(store: Store) -> None:
        key = await store.get_access_key("ak")
        assert key is not None and (key.secret, key.enabled) == ("secret", True)
        assert await store.get_access_key("other") is None

    run(write)
    run(read)


def test_access_keys_are_listed_disabled_enabled_and_deleted(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        await store.add_access_key("ak-new", "s2", 20.0)
        await store.add_access_key("ak-old", "s1", 10.0)
        keys = await store.list_access_keys()
        assert [(k.access_key_id, k.enabled, k.created_at) for k in keys] == [
            ("ak-old", True, 10.0),
            ("ak-new", True, 20.0),
        ]
        assert keys[0].last_used is None
        assert await store.set_access_key_enabled("ak-old", False)
        disabled = await store.get_access_key("ak-old")
        assert disabled is not None and not disabled.enabled and disabled.secret == "s1"
        assert await store.set_access_key_enabled("ak-old", True)
        assert (await store.get_access_key("ak-old")).enabled  # type: ignore[union-attr]
        await store.record_access_key_use("ak-new", 30.0)
        assert (await store.get_access_key("ak-new")).last_used == 30.0  # type: ignore[union-attr]
        assert await store.delete_access_key("ak-new")
        assert await store.get_access_key("ak-new") is None
        assert [k.access_key_id for k in await store.list_access_keys()] == ["ak-old"]
        assert not await store.delete_access_key("ak-new")
        assert not await store.set_access_key_enabled("ak-new", False)

    run(scenario)


def test_deregistrations_are_a_feed_every_controller_follows(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        assert await store.deregistrations(None) == ([], 0)
        for instance_id in ("mi-1", "mi-2", "mi-3"):
            await store.add_instance(fleet_instance(instance_id))
        await store.deregister_instance("mi-1", 10.0)
        _, start = await store.deregistrations(None)
        await store.deregister_instance("mi-2", 11.0)
        assert await store.deregister_instance("mi-2", 12.0) is None  # gone: not fed again
        await store.deregister_instance("mi-3", 13.0)
        removed, position = await store.deregistrations(start)
        assert removed == ["mi-2", "mi-3"] and position > start
        assert await store.deregistrations(position) == ([], position)
        assert (await store.deregistrations(0))[0] == ["mi-1", "mi-2", "mi-3"]

        # Controllers say how far they applied it; commands wait for the live ones behind.
        await store.controller_seen("ctl-a", position, 100.0)
        await store.controller_seen("ctl-b", start, 100.0)
        await store.controller_seen("ctl-dead", 0, 50.0)
        assert await store.controllers_behind(position, seen_since=90.0) == ["ctl-b"]
        await store.controller_seen("ctl-b", position, 101.0)
        assert await store.controllers_behind(position, seen_since=90.0) == []
        await store.controller_seen("ctl-a", None, 102.0)  # stopped
        await store.controller_seen("ctl-b", start, 103.0)
        assert await store.controllers_behind(position, seen_since=0.0) == ["ctl-b", "ctl-dead"]

    run(scenario)


def test_nonces_are_single_use_within_the_window(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        assert await store.use_nonce("n1", now=1000.0, keep_for=60)
        assert not await store.use_nonce("n1", now=1030.0, keep_for=60)
        assert await store.use_nonce("n1", now=1100.0, keep_for=60)  # forgotten after the window

    run(scenario)


def claim(store: Store, scope: str, token: str, fingerprint: str, now: float) -> Any:
    return store.claim_token(scope, token, fingerprint, now, stale_after=60.0, keep=86400.0)


def test_client_tokens(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        first = await claim(store, "CreateCommand", "tok", "fp1", 1.0)
        assert (first.fresh, first.claimed_at) == (True, 1.0)
        again = await claim(store, "CreateCommand", "tok", "fp2", 2.0)
        assert (again.fresh, again.fingerprint, again.result) == (False, "fp1", None)
        result = '{"CommandId": "c-1"}'
        assert await store.finish_token(TokenResult("CreateCommand", "tok", 1.0, result))
        assert not await store.finish_token(TokenResult("CreateCommand", "tok", 1.0, "{}"))
        await store.release_token("CreateCommand", "tok")  # finished claims are kept
        done = await claim(store, "CreateCommand", "tok", "fp1", 3.0)
        assert done.result == result
        assert (await claim(store, "InvokeCommand", "tok", "fp1", 3.0)).fresh  # per action
        await claim(store, "RunCommand", "t2", "fp", 1.0)
        await store.release_token("RunCommand", "t2")
        assert (await claim(store, "RunCommand", "t2", "fp", 1.0)).fresh

    run(scenario)


def test_a_client_token_whose_request_died_is_taken_over(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        dead = await claim(store, "CreateCommand", "tok", "fp1", 1.0)
        assert not (await claim(store, "CreateCommand", "tok", "fp1", 60.0)).fresh  # still young
        retry = await claim(store, "CreateCommand", "tok", "fp2", 62.0)
        assert (retry.fresh, retry.claimed_at) == (True, 62.0)
        # The dead request's write, had it come late, is refused with nothing written.
        late = TokenResult("CreateCommand", "tok", dead.claimed_at, '{"CommandId": "c-dead"}')
        with pytest.raises(ApiError, match="IdempotentProcessing"):
            await store.insert_command(command("c-dead"), late)
        assert await store.get_command("c-dead") is None
        fresh = TokenResult("CreateCommand", "tok", retry.claimed_at, '{"CommandId": "c-new"}')
        await store.insert_command(command("c-new"), fresh)
        replay = await claim(store, "CreateCommand", "tok", "fp2", 500.0)
        assert replay.result == fresh.result
        # Finished claims are forgotten after `keep`; a request at most once in that time.
        later = await store.claim_token("CreateCommand", "tok", "fp3", 90_000.0, 60.0, 86400.0)
        assert later.fresh

    run(scenario)


def test_a_client_token_result_commits_with_its_invocation(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        claimed = await claim(store, "RunCommand", "tok", "fp", 1.0)
        result = '{"CommandId": "c-k", "InvokeId": "t-1"}'
        finished = TokenResult("RunCommand", "tok", claimed.claimed_at, result)
        await store.insert_invocation(invocation("t-1", "mi-1"), command("c-k"), finished)
        assert (await claim(store, "RunCommand", "tok", "fp", 2.0)).result == result
        assert await store.get_command("c-k") is not None

    run(scenario)


def test_commands_crud_filters_and_paging(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.insert_command(command("c-a", "web-1", tags=[("env", "prod")]))
        await store.insert_command(command("c-bb", "web-2", description="50%_off"))
        await store.insert_command(command("c-ccc", "db-1"))
        assert await store.count_commands() == 3
        found = await store.get_command("c-a")
        assert found is not None and found.tags == [("env", "prod")]

        async def names(**where: object) -> list[str]:
            page = await store.list_commands(CommandFilter(**where), PageRequest(limit=10))  # type: ignore[arg-type]
            return [c.name for c in page.items]

        assert await names(name="web*") == ["web-2", "web-1"]  # newest first
        assert await names(name="*-1") == ["db-1", "web-1"]
        assert await names(name="web") == []  # no wildcard: exact
        assert await names(name="WEB*") == ["web-2", "web-1"]  # as SQLite's LIKE: any case
        assert await names(description="50%*") == ["web-2"]
        assert await names(description="5_%*") == []  # LIKE metacharacters are literal
        assert await names(tags=[("env", "prod")]) == ["web-1"]
        assert await names(tags=[("env", "")]) == ["web-1"]
        page = await store.list_commands(CommandFilter(), PageRequest(offset=2, limit=2))
        assert (page.total, [c.name for c in page.items], page.has_more) == (3, ["web-1"], False)

        found.name, found.timeout = "renamed", 120
        await store.update_command(found)
        updated = await store.get_command("c-a")
        assert updated is not None and (updated.name, updated.timeout) == ("renamed", 120)
        assert await store.delete_command("c-a")
        assert not await store.delete_command("c-a")
        assert await store.get_command("c-a") is None

    run(scenario)


def test_invocations_targets_and_statuses(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.insert_command(command("c-1"))
        for instance_id in ("mi-1", "mi-2"):
            await store.add_instance(
                Instance(instance_id=instance_id, instance_name=instance_id, registration_time=1.0)
            )
        known = await store.list_instances(
            InstanceFilter(instance_ids=["mi-1", "mi-9"]), PageRequest()
        )
        assert [i.instance_id for i in known.items] == ["mi-1"]
        await store.insert_invocation(invocation("t-1", "mi-1", "mi-2"))
        cmd = await store.get_command("c-1")
        assert cmd is not None and cmd.invoke_times == 1

        inv = await store.get_invocation("t-1")
        assert inv is not None and [t.instance_id for t in inv.targets] == ["mi-1", "mi-2"]
        assert (inv.status, inv.legacy_status) == ("Pending", "Running")
        await store.apply_reports("mi-1", [report("t-1", 0, "started")], 101.0, 100)
        finished = [
            report("t-1", 0, "started"),
            report("t-1", 1, "finished", status="Success", exit_code=0),
        ]
        await store.apply_reports("mi-2", finished, 102.0, 100)
        inv = await store.get_invocation("t-1")
        assert inv is not None and (inv.status, inv.legacy_status) == ("Running", "Running")

        await store.stop_targets("t-1", [], now=103.0)
        inv = await store.get_invocation("t-1")
        assert inv is not None
        assert [t.status for t in inv.targets] == ["Stopping", "Success"]  # finished: untouched
        assert inv.status == "Stopping" and inv.stop_time == 103.0

        def statuses(*values: str) -> ResultFilter:
            return ResultFilter(invoke_id="t-1", statuses=values)

        hits = await store.list_results(statuses("Success"), PageRequest())
        assert [r.target.instance_id for r in hits.items] == ["mi-2"]
        by_instance = await store.list_invocations(
            InvocationFilter(instance_id="mi-2"), PageRequest()
        )
        assert [i.invoke_id for i in by_instance.items] == ["t-1"]
        by_status = await store.list_invocations(InvocationFilter(status="stopping"), PageRequest())
        assert [i.invoke_id for i in by_status.items] == ["t-1"]

    run(scenario)


def test_the_timed_filter_keeps_what_the_timed_field_shows(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        for invoke_id, mode in (("t-once", "Once"), ("t-stopping", "Period"), ("t-on", "Period")):
            inv = invocation(invoke_id, "mi-1")
            inv.repeat_mode = RepeatMode(mode)
            await store.insert_invocation(inv)
            await store.apply_reports("mi-1", [report(invoke_id, 0, "started")], 101.0, 100)
        await store.stop_targets("t-stopping", [], now=103.0)
        every = await store.list_invocations(InvocationFilter(), PageRequest())
        shown = {i.invoke_id: views.invocation(i, "PlainText", False)["Timed"] for i in every.items}
        assert shown == {"t-once": False, "t-stopping": False, "t-on": True}
        for timed in (True, False):
            found = await store.list_invocations(InvocationFilter(timed=timed), PageRequest())
            assert {i.invoke_id for i in found.items} == {k for k, v in shown.items() if v is timed}

    run(scenario)


def test_stop_cancels_records_not_yet_started(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.insert_invocation(invocation("t-1", "mi-1", "mi-2"))
        await store.stop_targets("t-1", ["mi-1"], now=5.0)
        inv = await store.get_invocation("t-1")
        assert inv is not None
        assert [(t.status, t.stop_time) for t in inv.targets] == [
            ("Cancelled", 5.0),
            ("Pending", None),
        ]
        assert inv.status == "Pending"

    run(scenario)


def test_undelivered_records_are_aborted(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.insert_invocation(invocation("t-old", "mi-1", created=10.0))
        await store.insert_invocation(invocation("t-new", "mi-1", created=50.0))
        assert await store.abort_undelivered(20.0, now=60.0, connected_since=0.0) == 1
        old, new = await store.get_invocation("t-old"), await store.get_invocation("t-new")
        assert old is not None and new is not None
        record = old.targets[0]
        assert (record.status, record.error_code, record.finish_time) == (
            "Aborted",
            "DeliveryTimeout",
            60.0,
        )
        assert (old.status, old.legacy_status) == ("Failed", "Failed")
        assert new.targets[0].status == "Pending"

    run(scenario)


def test_tags(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.insert_command(command("c-1"))
        await store.insert_command(command("c-2"))
        assert await store.existing_resources("command", ["c-1", "c-9"]) == {"c-1"}
        await store.tag("command", ["c-1", "c-2"], [("a", "1"), ("b", "2")])
        await store.tag("command", ["c-1"], [("a", "changed")])
        assert await store.tag_count("command", "c-1") == 2
        rows = await store.list_tags("command", ["c-1"], [], PageRequest(limit=50))
        assert rows.items == [("c-1", "a", "changed"), ("c-1", "b", "2")]
        await store.untag("command", ["c-1"], ["a"])
        await store.untag("command", ["c-2"], None)
        rows = await store.list_tags("command", [], [], PageRequest(limit=50))
        assert rows.items == [("c-1", "b", "2")]
        filtered = await store.list_tags("command", [], [("b", "2")], PageRequest(limit=50))
        assert filtered.total == 1

    run(scenario)


def fleet_instance(instance_id: str, activation_id: str = "") -> Instance:
    return Instance(
        instance_id=instance_id,
        instance_name=instance_id,
        registration_time=1.0,
        activation_id=activation_id,
    )


def report(invoke_id: str, seq: int, event: str, **fields: object) -> Report:
    return Report(invoke_id=invoke_id, seq=seq, event=event, time=float(seq + 10), **fields)  # type: ignore[arg-type]


def test_deregistration_ends_the_instance_s_records(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.add_instance(fleet_instance("mi-1"))
        await store.insert_invocation(invocation("t-run", "mi-1", "mi-2"))
        await store.insert_invocation(invocation("t-wait", "mi-1"))
        await store.claim_deliveries("mi-1", 20.0, 30.0, 10, [])
        await store.apply_reports("mi-1", [report("t-run", 0, "started")], 21.0, 1024)
        assert await store.deregister_instance("mi-1", 30.0) is not None
        ran, waited = await store.get_invocation("t-run"), await store.get_invocation("t-wait")
        assert ran is not None and waited is not None
        mine = next(t for t in ran.targets if t.instance_id == "mi-1")
        assert (mine.status, mine.error_code, mine.finish_time) == (
            "Terminated",
            "InstanceReleased",
            30.0,
        )
        assert (waited.targets[0].status, waited.status) == ("Aborted", "Failed")
        other = next(t for t in ran.targets if t.instance_id == "mi-2")
        assert other.status == "Pending"  # another instance's record is its own

    run(scenario)


def test_deliveries_are_leased_and_redelivered_after_the_lease(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        await store.add_instance(fleet_instance("mi-1"))
        await store.add_instance(fleet_instance("mi-2"))
        await store.insert_invocation(invocation("t-1", "mi-1", "mi-2"))
        first = await store.claim_deliveries("mi-1", 100.0, 30.0, 10, [])
        assert [(d.target.invoke_id, d.instance.instance_id) for d in first] == [("t-1", "mi-1")]
        assert first[0].invocation.content == b"echo 1"
        assert await store.claim_deliveries("mi-1", 120.0, 30.0, 10, ["t-1"]) == []
        again = await store.claim_deliveries("mi-1", 131.0, 30.0, 10, ["t-1"])
        assert [d.target.invoke_id for d in again] == ["t-1"]  # the lease ran out unacknowledged
        assert again[0].target.delivered_at == 100.0  # first delivery time is kept
        lost = await store.claim_deliveries("mi-1", 132.0, 30.0, 10, [])
        assert [d.target.invoke_id for d in lost] == ["t-1"]  # its agent never got it
        other = await store.claim_deliveries("mi-2", 100.0, 30.0, 10, [])
        assert [d.target.instance_id for d in other] == ["mi-2"]

    run(scenario)


def test_instances_with_news_are_those_with_work_to_deliver_or_stop(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        for instance_id in ("mi-1", "mi-2", "mi-3", "mi-4"):
            await store.add_instance(fleet_instance(instance_id))
        assert await store.instances_with_news() == []
        await store.insert_invocation(invocation("t-1", "mi-1", "mi-2", "mi-3"))
        assert sorted(await store.instances_with_news()) == ["mi-1", "mi-2", "mi-3"]
        await store.claim_deliveries("mi-1", 100.0, 30.0, 10, [])  # delivered: its agent knows
        await store.apply_reports("mi-2", [report("t-1", 0, "started")], 100.0, 100)  # running
        await store.insert_invocation(invocation("t-2", "mi-4"))
        await store.apply_reports("mi-4", [report("t-2", 0, "started")], 100.0, 100)
        await store.stop_targets("t-2", [], now=101.0)  # stopping: its agent must be told
        assert sorted(await store.instances_with_news()) == ["mi-3", "mi-4"]

    run(scenario)


def test_a_leased_record_is_not_aborted_until_its_lease_ends(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        await store.add_instance(fleet_instance("mi-1"))
        await store.insert_invocation(invocation("t-1", "mi-1", created=10.0))
        await store.claim_deliveries("mi-1", 50.0, 30.0, 10, [])
        assert await store.abort_undelivered(60.0, now=70.0, connected_since=0.0) == 0
        assert await store.abort_undelivered(60.0, now=81.0, connected_since=0.0) == 1

    run(scenario)


def test_a_record_delivered_to_a_connected_agent_is_not_aborted(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        await store.add_instance(fleet_instance("mi-1"))
        await store.insert_invocation(invocation("t-1", "mi-1", created=10.0))
        await store.claim_deliveries("mi-1", 50.0, 30.0, 10, [])
        await store.record_heartbeats([Heartbeat("mi-1", 75.0, 1)])
        # Its agent polls (it holds the task, queued behind others, say): not a lost delivery.
        assert await store.abort_undelivered(60.0, now=81.0, connected_since=70.0) == 0
        # Silent since: the delivery is presumed lost.
        assert await store.abort_undelivered(60.0, now=200.0, connected_since=80.0) == 1

    run(scenario)


def test_a_late_genuine_report_replaces_an_inferred_ending(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        await store.add_instance(fleet_instance("mi-1"))
        await store.insert_invocation(invocation("t-1", "mi-1", created=10.0))
        await store.claim_deliveries("mi-1", 50.0, 30.0, 10, [])
        assert await store.abort_undelivered(60.0, now=81.0, connected_since=0.0) == 1
        late = [
            report("t-1", 0, "started"),
            report("t-1", 1, "output", output=b"done\n"),
            report("t-1", 2, "finished", status="Success", exit_code=0),
        ]
        assert await store.apply_reports("mi-1", late, 90.0, 1024) == set()
        inv = await store.get_invocation("t-1")
        assert inv is not None
        record = inv.targets[0]
        assert (record.status, record.error_code, record.output) == ("Success", "", b"done\n")
        assert (record.start_time, record.finish_time) == (10.0, 12.0)
        assert inv.status == "Success"

    run(scenario)


def test_reports_apply_once_in_order_and_only_to_own_records(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        await store.add_instance(fleet_instance("mi-1"))
        await store.add_instance(fleet_instance("mi-2"))
        await store.insert_invocation(invocation("t-1", "mi-1"))
        await store.insert_invocation(invocation("t-2", "mi-2"))
        batch = [
            report("t-1", 0, "started"),
            report("t-1", 1, "output", output=b"abc"),
            report("t-2", 0, "started"),  # another instance's record
        ]
        assert await store.apply_reports("mi-1", batch, now=20.0, output_limit=5) == {"t-2"}
        replay = [
            report("t-1", 1, "output", output=b"abc"),
            report("t-1", 2, "output", output=b"defg"),
        ]
        await store.apply_reports("mi-1", replay, now=21.0, output_limit=4)
        inv = await store.get_invocation("t-1")
        assert inv is not None
        record = inv.targets[0]
        assert (record.status, record.start_time) == ("Running", 10.0)
        assert (record.output, record.dropped) == (b"abfg", 3)  # head and tail, within the limit
        assert inv.status == "Running"
        done = report("t-1", 3, "finished", status="Failed", exit_code=3, dropped=2)
        await store.apply_reports("mi-1", [done], now=22.0, output_limit=5)
        late = report("t-1", 4, "finished", status="Success", exit_code=0)
        await store.apply_reports("mi-1", [late], now=23.0, output_limit=5)
        inv = await store.get_invocation("t-1")
        assert inv is not None
        record = inv.targets[0]
        assert (record.status, record.exit_code, record.dropped) == ("Failed", 3, 3 + 2)
        other = await store.get_invocation("t-2")
        assert other is not None and other.targets[0].status == "Pending"
        stale = Report(invoke_id="t-1", run=0, seq=9, event="output", time=1.0, output=b"old")
        await store.apply_reports("mi-1", [stale], now=24.0, output_limit=50)
        inv = await store.get_invocation("t-1")
        assert inv is not None and inv.targets[0].output == b"abfg"  # an earlier run's report

    run(scenario)


def test_records_to_cancel_are_those_no_longer_running(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.add_instance(fleet_instance("mi-1"))
        await store.insert_invocation(invocation("t-1", "mi-1"))
        await store.insert_invocation(invocation("t-2", "mi-1"))
        await store.apply_reports("mi-1", [report("t-1", 0, "started")], 1.0, 100)
        await store.apply_reports("mi-1", [report("t-2", 0, "started")], 1.0, 100)
        await store.stop_targets("t-2", [], now=2.0)
        assert await store.records_to_cancel("mi-1", ["t-1", "t-2", "t-9"]) == ["t-2"]

    run(scenario)


def test_registration_counts_against_the_activation(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        activation = Activation(
            activation_id="A-1",
            code_hash="h",
            instance_count=1,
            time_to_live_hours=4,
            creation_time=1.0,
            tags=[("team", "ops")],
        )
        await store.insert_activation(activation)
        assert await store.register_instance(fleet_instance("mi-1", "A-1"))
        assert not await store.register_instance(fleet_instance("mi-2", "A-1"))
        assert await store.get_instance("mi-2") is None
        found = await store.get_activation("A-1")
        assert found is not None and (found.registered_count, found.tags) == (1, [("team", "ops")])
        removed = await store.deregister_instance("mi-1", 5.0)
        assert removed is not None and removed.instance_id == "mi-1"
        assert await store.deregister_instance("mi-1", 6.0) is None
        found = await store.get_activation("A-1")
        assert found is not None and found.deregistered_count == 1
        await store.disable_activation("A-1")
        found = await store.get_activation("A-1")
        assert found is not None and found.disabled
        await store.delete_activation("A-1")
        assert await store.get_activation("A-1") is None

    run(scenario)


def test_heartbeats_and_instance_listing(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.add_instance(fleet_instance("mi-1"))
        await store.add_instance(fleet_instance("mi-2"))
        facts = HostFacts(hostname="web", agent_version="1.2", interpreters=["sh"], boot_id="b")
        await store.record_heartbeats([Heartbeat("mi-1", 500.0, 2, facts)])
        found = await store.get_instance("mi-1")
        assert found is not None
        assert (found.agent_version, found.interpreters, found.last_heartbeat) == (
            "1.2",
            ["sh"],
            500.0,
        )
        assert (found.hostname, found.boot_id, found.active_task_count) == ("web", "b", 2)
        # A beat without facts moves the heartbeat on and keeps what the host said before.
        await store.record_heartbeats([Heartbeat("mi-1", 510.0, 0), Heartbeat("mi-gone", 510.0, 0)])
        found = await store.get_instance("mi-1")
        assert found is not None
        assert (found.hostname, found.last_heartbeat, found.active_task_count) == ("web", 510.0, 0)
        connected = await store.list_instances(InstanceFilter(connected_since=400.0), PageRequest())
        assert [i.instance_id for i in connected.items] == ["mi-1"]
        offline = await store.list_instances(
            InstanceFilter(disconnected_before=400.0), PageRequest()
        )
        assert [i.instance_id for i in offline.items] == ["mi-2"]
        await store.insert_invocation(invocation("t-1", "mi-1", created=7.0))
        stats = await store.instance_stats(["mi-1", "mi-2"])
        assert (stats["mi-1"].invocation_count, stats["mi-1"].last_invoked_time) == (1, 7.0)
        assert stats["mi-2"].invocation_count == 0
        assert await store.rename_instance("mi-2", "db")
        renamed = await store.get_instance("mi-2")
        assert renamed is not None and renamed.instance_name == "db"

    run(scenario)


def test_runs_of_silent_agents_end_after_their_timeout(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        await store.add_instance(fleet_instance("mi-1"))
        await store.record_heartbeats([Heartbeat("mi-1", 100.0, 0)])
        await store.insert_invocation(invocation("t-1", "mi-1"))  # Timeout 60
        await store.apply_reports("mi-1", [report("t-1", 0, "started")], 100.0, 10)  # at 10.0
        assert await store.abandon_silent_runs(now=500.0, silent_for=600.0) == 0
        assert await store.abandon_silent_runs(now=671.0, silent_for=600.0) == 0  # polled at 100
        assert await store.abandon_silent_runs(now=701.0, silent_for=600.0) == 1
        inv = await store.get_invocation("t-1")
        assert inv is not None
        assert (inv.targets[0].status, inv.targets[0].error_code) == ("Error", "ClientNotResponse")

    run(scenario)


def test_registered_instances_are_numbered_once_each(run: Callable[[Scenario], None]) -> None:
    async def scenario(store: Store) -> None:
        activation = Activation(
            activation_id="A-2",
            code_hash="h",
            instance_count=10,
            time_to_live_hours=4,
            creation_time=1.0,
        )
        await store.insert_activation(activation)
        instances = [fleet_instance(f"mi-{i}", "A-2") for i in range(3)]
        assert await asyncio.gather(*(store.register_instance(i, "web") for i in instances))
        names = sorted(i.instance_name for i in instances)
        assert names == ["web-01", "web-02", "web-03"]
        stored = await store.get_instance("mi-2")
        assert stored is not None and stored.instance_name in names

    run(scenario)


def test_a_writable_store_passes_its_check_again_and_again(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(store: Store) -> None:
        for now in (1.0, 2.0, 2.0):
            await store.check_writable(now)

    run(scenario)
