"""The per-instance state machine, without a store."""

from __future__ import annotations

from assistcli.api.agent import Report
from assistcli.api.status import RecordStatus
from assistcli.controller.models import Target
from assistcli.controller.records import apply_report, end_run, rearm


def record(**fields: object) -> Target:
    values: dict[str, object] = {"status": RecordStatus.PENDING, **fields}
    return Target(invoke_id="t-1", instance_id="mi-1", creation_time=1.0, **values)  # type: ignore[arg-type]


def test_a_run_starts_and_finishes_by_its_reports() -> None:
    run = record()
    apply_report(run, Report(invoke_id="t-1", seq=0, event="started", time=5.0))
    assert (run.status, run.start_time, run.repeats) == ("Running", 5.0, 1)
    done = Report(invoke_id="t-1", seq=1, event="finished", time=7.0, status="Failed", exit_code=2)
    apply_report(run, done)
    assert (run.status, run.exit_code, run.finish_time) == ("Failed", 2, 7.0)
    late = Report(invoke_id="t-1", seq=2, event="finished", time=8.0, status="Success")
    apply_report(run, late)
    assert run.status == "Failed"  # an ended record keeps its outcome


def test_the_agent_s_word_replaces_an_inferred_ending() -> None:
    run = record()
    end_run(run, RecordStatus.ABORTED, ("DeliveryTimeout", "late"), 60.0)
    assert (run.status, run.finish_time) == ("Aborted", 60.0)
    apply_report(run, Report(invoke_id="t-1", seq=0, event="started", time=61.0))
    assert (run.status, run.error_code, run.finish_time) == ("Running", "", None)
    released = record(start_time=5.0, status=RecordStatus.RUNNING)
    end_run(released, RecordStatus.TERMINATED, ("InstanceReleased", "gone"), 60.0)
    apply_report(released, Report(invoke_id="t-1", seq=3, event="finished", time=61.0))
    assert released.status == "Terminated"  # decided, not inferred: it stands


def test_an_ended_run_of_a_repeating_record_waits_for_the_next() -> None:
    periodic = record(status=RecordStatus.SUCCESS, next_fire=100.0)
    rearm(periodic, "Period")
    assert periodic.status == "Scheduled"
    stopped = record(status=RecordStatus.SUCCESS, next_fire=100.0, stop_time=50.0)
    rearm(stopped, "Period")
    assert stopped.status == "Success"
    every_boot, next_boot = record(status=RecordStatus.FAILED), record(status=RecordStatus.FAILED)
    rearm(every_boot, "EveryReboot")
    rearm(next_boot, "NextRebootOnly")
    assert (every_boot.status, next_boot.status) == ("Scheduled", "Failed")
