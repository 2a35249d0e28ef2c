"""The per-instance state machine: how a record changes with its agent's reports, with an
ending the controller decides, and between the runs of a repeating task.

Pure code on `Target`s: the store reads the records, applies these, and writes the records
back under its isolation rules (store/base.py).
"""

from __future__ import annotations

from assistcli.api import status as st
from assistcli.api.agent import Report
from assistcli.api.status import RecordStatus, RepeatMode
from assistcli.controller.models import Target


def apply_report(record: Target, report: Report) -> None:
    """One agent event on one record, its output already taken. A record that has ended keeps
    its outcome, unless the controller only inferred it: then the agent's word wins."""
    if record.error_code in st.INFERRED_ENDINGS:
        record.status = RecordStatus.RUNNING if record.start_time else RecordStatus.PENDING
        record.error_code = record.error_info = ""
        record.finish_time = None
    if report.event == "started" and record.status == RecordStatus.PENDING:
        record.status, record.start_time = RecordStatus.RUNNING, report.time
        record.repeats += 1
    if report.event == "finished" and not st.is_terminal(record.status):
        record.status = RecordStatus(report.status)
        record.exit_code = report.exit_code
        record.error_code, record.error_info = report.error_code, report.error_info
        record.finish_time = report.time
        record.dropped += report.dropped  # the bytes the agent did not send, to those cut here
        record.start_time = record.start_time or None


def end_run(record: Target, status: RecordStatus, error: tuple[str, str], now: float) -> None:
    """The controller ends the record's run: `status` with (ErrorCode, ErrorInfo)."""
    record.status, (record.error_code, record.error_info) = status, error
    record.update_time = record.finish_time = now


def rearm(record: Target, repeat_mode: str) -> None:
    """A repeating record whose run has ended waits for its next run, unless it was stopped or
    its schedule is over."""
    scheduled = record.next_fire is not None or repeat_mode == RepeatMode.EVERY_REBOOT
    if st.is_terminal(record.status) and scheduled and record.stop_time is None:
        record.status = RecordStatus.SCHEDULED
