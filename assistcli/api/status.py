"""The four status vocabularies of Cloud Assistant, its repeat modes, and how statuses derive
from one another.

Each per-instance record stores one current `RecordStatus`; the legacy per-instance fields
(`InstanceInvokeStatus`, `InvokeRecordStatus`) and the task-level aggregates (`InvocationStatus`,
legacy `InvokeStatus`) are computed from it here, so they can never disagree.

The enums are `str` subclasses whose values are the API's strings, so they compare equal to,
hash like, and serialize as those strings. This module runs on Python 3.8 (agentd reads the
statuses an agent may report from it), hence `(str, Enum)` rather than `StrEnum`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Vocabulary(str, enum.Enum):  # noqa: UP042 (StrEnum is 3.11+)
    """A string enum that prints as its value, as `StrEnum` does (Python 3.11+)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class RecordStatus(Vocabulary):
    """Per-instance `InvocationStatus` of a record."""

    PENDING = "Pending"
    SCHEDULED = "Scheduled"
    RUNNING = "Running"
    STOPPING = "Stopping"
    SUCCESS = "Success"
    FAILED = "Failed"
    INVALID = "Invalid"
    ABORTED = "Aborted"
    TIMEOUT = "Timeout"
    ERROR = "Error"
    CANCELLED = "Cancelled"
    TERMINATED = "Terminated"


class InvocationStatus(Vocabulary):
    """Task-level `InvocationStatus`, aggregated over its records."""

    PENDING = "Pending"
    SCHEDULED = "Scheduled"
    RUNNING = "Running"
    STOPPING = "Stopping"
    SUCCESS = "Success"
    FAILED = "Failed"
    PARTIAL_FAILED = "PartialFailed"
    STOPPED = "Stopped"


class LegacyStatus(Vocabulary):
    """The 2017 vocabulary: `InvokeStatus`, `InstanceInvokeStatus` and `InvokeRecordStatus`."""

    RUNNING = "Running"
    STOPPING = "Stopping"
    FINISHED = "Finished"
    FAILED = "Failed"
    PARTIAL_FAILED = "PartialFailed"
    STOPPED = "Stopped"


class RepeatMode(Vocabulary):
    ONCE = "Once"
    PERIOD = "Period"
    NEXT_REBOOT_ONLY = "NextRebootOnly"
    EVERY_REBOOT = "EveryReboot"
    DRY_RUN = "DryRun"


_R = RecordStatus
ACTIVE = (_R.PENDING, _R.SCHEDULED, _R.RUNNING, _R.STOPPING)
# What a task that "will still run" may be: a Stopping one is on its way to Stopped.
STILL_RUNS = (_R.PENDING, _R.SCHEDULED, _R.RUNNING)
# A script is under way on the instance (it may be being killed).
EXECUTING = (_R.RUNNING, _R.STOPPING)
STOPPED_CLASS = (_R.CANCELLED, _R.TERMINATED)
FAILED_CLASS = (_R.FAILED, _R.INVALID, _R.ABORTED, _R.TIMEOUT, _R.ERROR)
# Failures before or around the script: the legacy vocabulary calls them Failed. A script that
# ran and exited non-zero was still "Finished" there; its ExitCode tells the rest.
NOT_RUN_CLASS = (_R.INVALID, _R.ABORTED, _R.TIMEOUT, _R.ERROR)
# Outcomes an agent may report for a run.
REPORTABLE = (_R.SUCCESS, _R.FAILED, _R.INVALID, _R.TIMEOUT, _R.ERROR, _R.TERMINATED)
# Modes whose task is armed again after a run (DryRun and Once tasks run at most once).
REBOOT_MODES = (RepeatMode.NEXT_REBOOT_ONLY, RepeatMode.EVERY_REBOOT)
REPEATING = (RepeatMode.PERIOD, *REBOOT_MODES)
# ErrorCodes of endings the controller infers from an agent's silence, not from a report: a
# genuine report of the same run, arriving late (after an outage, say), replaces them.
INFERRED_ENDINGS = ("DeliveryTimeout", "ClientNotResponse")


def is_terminal(status: str) -> bool:
    return status not in ACTIVE


def is_timed(repeat_mode: str, status: str) -> bool:
    """`Timed` (field and DescribeInvocations filter): a repeating task that will still run."""
    return repeat_mode in REPEATING and status in STILL_RUNS


def instance_invoke_status(status: str) -> LegacyStatus:
    """Legacy per-instance `InstanceInvokeStatus`: Running, Finished, Failed or Stopped."""
    if status in STOPPED_CLASS:
        return LegacyStatus.STOPPED
    if status in NOT_RUN_CLASS:
        return LegacyStatus.FAILED
    if status in (_R.SUCCESS, _R.FAILED):
        return LegacyStatus.FINISHED
    return LegacyStatus.RUNNING


def invoke_record_status(status: str) -> LegacyStatus:
    """Per-record `InvokeRecordStatus`: as InstanceInvokeStatus, but Stopping shows as such."""
    return LegacyStatus.STOPPING if status == _R.STOPPING else instance_invoke_status(status)


def record_statuses_matching(value: str) -> tuple[RecordStatus, ...]:
    """Current statuses a record filter accepts; the filter may use either vocabulary."""
    return tuple(
        s for s in RecordStatus if value.lower() in (s.lower(), invoke_record_status(s).lower())
    )


def invocation_status(statuses: Iterable[str]) -> InvocationStatus:
    """Task-level `InvocationStatus`, by the documented precedence."""
    seen = set(statuses)
    for active in ACTIVE:
        if active in seen:
            return InvocationStatus(active.value)
    if not seen or seen <= set(STOPPED_CLASS):
        return InvocationStatus.STOPPED
    finished = seen - set(STOPPED_CLASS)
    if finished == {_R.SUCCESS}:
        return InvocationStatus.SUCCESS
    if finished <= set(FAILED_CLASS):
        return InvocationStatus.FAILED
    return InvocationStatus.PARTIAL_FAILED


def invoke_status(statuses: Iterable[str]) -> LegacyStatus:
    """Legacy task-level `InvokeStatus` of a one-time task."""
    statuses = tuple(statuses)
    legacy = {instance_invoke_status(s) for s in statuses}
    current = invocation_status(statuses)
    if current == InvocationStatus.STOPPING:
        return LegacyStatus.STOPPING
    if not is_terminal(current):
        return LegacyStatus.RUNNING
    if not legacy or legacy == {LegacyStatus.STOPPED}:
        return LegacyStatus.STOPPED
    done = legacy - {LegacyStatus.STOPPED}
    if done == {LegacyStatus.FAILED}:
        return LegacyStatus.FAILED
    return LegacyStatus.PARTIAL_FAILED if LegacyStatus.FAILED in done else LegacyStatus.FINISHED
