"""SQLite queries for instances that run Alibaba's own agent (aliyun-service): the key it signs
with, the periodic tasks it schedules itself, what it must stop, and its reports.

Such an agent runs `Period` tasks (cron, rate(), at()) on its own clock and reports each run
under the task's one id and version, telling runs apart by their start. So for these instances
the scheduler's fires start no run (see sql_schedule.record_fires): the first report of a
new start does, and every report then goes through the same application as agentd's.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistcli.api.agent import Report
from assistcli.api.status import RecordStatus, RepeatMode
from assistcli.controller.models import AgentKey, Instance, Result, RunReport
from assistcli.controller.store import sql_fleet as fleet
from assistcli.controller.store import sql_schedule as schedule
from assistcli.controller.store.db import LOCK, Db
from assistcli.controller.store.sql_rows import invocation_rows, invocations_of, target_of

FINAL_SEQ = 2**62  # an ending report is retried identically: applied once, after any output


def register(c: Db, instance: Instance, prefix: str | None, key: AgentKey) -> bool:
    if not fleet.register_instance(c, instance, prefix):
        return False
    c.execute(
        "INSERT INTO agent_keys (instance_id, machine_id, public_key) VALUES (?, ?, ?)",
        (instance.instance_id, key.machine_id, key.public_key),
    )
    return True


def key_of(c: Db, instance_id: str) -> AgentKey | None:
    row = c.execute(
        "SELECT machine_id, public_key FROM agent_keys WHERE instance_id = ?", (instance_id,)
    ).fetchone()
    return None if row is None else AgentKey(row[0], row[1])


def _results(c: Db, sql: str, params: Sequence[object]) -> list[Result]:
    rows = c.execute(sql, params).fetchall()
    ids = list(dict.fromkeys(r["invoke_id"] for r in rows))
    found = invocations_of(c, invocation_rows(c, ids), with_targets=False, with_tags=False)
    by_id = {inv.invoke_id: inv for inv in found}
    return [Result(target=target_of(r), invocation=by_id[r["invoke_id"]]) for r in rows]


def schedules(c: Db, instance_id: str) -> list[Result]:
    """The instance's periodic records that are neither stopped nor over: its agent must hold
    their schedules (it keeps them in memory only)."""
    return _results(
        c,
        "SELECT t.* FROM targets t JOIN invocations i ON i.invoke_id = t.invoke_id "
        "WHERE t.instance_id = ? AND i.repeat_mode = ? AND t.stop_time IS NULL "
        "AND (t.status IN (?, ?) OR (t.status = ? AND t.next_fire IS NOT NULL)) "
        "ORDER BY t.creation_time",
        (
            instance_id,
            RepeatMode.PERIOD,
            RecordStatus.PENDING,
            RecordStatus.RUNNING,
            RecordStatus.SCHEDULED,
        ),
    )


def to_stop(c: Db, instance_id: str, stopped_since: float) -> list[Result]:
    """Records whose run the agent must kill (Stopping), and periodic records stopped since
    `stopped_since`, whose schedules it may still hold."""
    return _results(
        c,
        "SELECT t.* FROM targets t JOIN invocations i ON i.invoke_id = t.invoke_id "
        "WHERE t.instance_id = ? AND (t.status = ? OR "
        "(i.repeat_mode = ? AND t.stop_time >= ?)) ORDER BY t.creation_time",
        (instance_id, RecordStatus.STOPPING, RepeatMode.PERIOD, stopped_since),
    )


def apply_reports(
    c: Db,
    instance_id: str,
    reports: Sequence[RunReport],
    now: float,
    output_limit: int,
) -> None:
    for report in reports:
        found = _run_of(c, instance_id, report, now, output_limit)
        if found is None:
            continue
        run, seq = found
        seq = FINAL_SEQ if report.event == "finished" else seq + 1
        if report.event != "finished":
            c.execute(
                "UPDATE agent_runs SET seq = ? WHERE invoke_id = ? AND instance_id = ? "
                "AND start_ms = ?",
                (seq, report.invoke_id, instance_id, report.start_ms),
            )
        _apply(c, instance_id, report, run, seq, now, output_limit)


def _run_of(
    c: Db, instance_id: str, report: RunReport, now: float, output_limit: int
) -> tuple[int, int] | None:
    """(run, last sequence) of the run the report is about; its first report starts it.
    Lock, then read: of two reports on one run applied at once, the second reads the sequence
    number the first took."""
    known = c.execute(
        "SELECT run, seq FROM agent_runs WHERE invoke_id = ? AND instance_id = ? "
        f"AND start_ms = ?{LOCK}",
        (report.invoke_id, instance_id, report.start_ms),
    ).fetchone()
    if known is not None:
        return int(known[0]), int(known[1])
    record = c.execute(
        "SELECT t.run, t.stop_time, i.repeat_mode FROM targets t JOIN invocations i "
        "ON i.invoke_id = t.invoke_id WHERE t.invoke_id = ? AND t.instance_id = ?",
        (report.invoke_id, instance_id),
    ).fetchone()
    if record is None:
        return None  # not this instance's
    run = report.version or int(record["run"])
    if record["repeat_mode"] == "Period":  # a run the agent scheduled: a new run of the record
        if record["stop_time"] is not None:
            return None  # stopped: what its agent still runs is not recorded
        schedule.start_run(c, report.invoke_id, instance_id, now)
        run = int(record["run"]) + 1
    c.execute(
        "INSERT INTO agent_runs (invoke_id, instance_id, start_ms, run, seq) "
        "VALUES (?, ?, ?, ?, 0)",
        (report.invoke_id, instance_id, report.start_ms, run),
    )
    c.execute(  # the runs before the previous one get no more reports worth applying
        "DELETE FROM agent_runs WHERE invoke_id = ? AND instance_id = ? AND run < ?",
        (report.invoke_id, instance_id, run - 1),
    )
    started = report.start_ms / 1000 if report.start_ms else report.time
    begin = Report(invoke_id=report.invoke_id, seq=0, event="started", time=started, run=run)
    fleet.apply_reports(c, instance_id, [begin], now, output_limit)
    return run, 0


def _apply(
    c: Db,
    instance_id: str,
    report: RunReport,
    run: int,
    seq: int,
    now: float,
    output_limit: int,
) -> None:
    applied = Report(
        invoke_id=report.invoke_id,
        seq=seq,
        event=report.event,
        time=report.time,
        run=run,
        output=report.output,
        status=report.status,
        exit_code=report.exit_code,
        error_code=report.error_code,
        error_info=report.error_info,
        dropped=report.dropped,
    )
    fleet.apply_reports(c, instance_id, [applied], now, output_limit)
