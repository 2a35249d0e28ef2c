"""The four status vocabularies of Cloud Assistant and how they derive from one another.

Each per-instance record stores one current `InvocationStatus`; the legacy per-instance fields
(`InstanceInvokeStatus`, `InvokeRecordStatus`) and the task-level aggregates (`InvocationStatus`,
legacy `InvokeStatus`) are computed from it here, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

PENDING, SCHEDULED, RUNNING, STOPPING = "Pending", "Scheduled", "Running", "Stopping"
SUCCESS, FAILED, INVALID, ABORTED = "Success", "Failed", "Invalid", "Aborted"
TIMEOUT, ERROR, CANCELLED, TERMINATED = "Timeout", "Error", "Cancelled", "Terminated"

ACTIVE = (PENDING, SCHEDULED, RUNNING, STOPPING)
STOPPED_CLASS = (CANCELLED, TERMINATED)
FAILED_CLASS = (FAILED, INVALID, ABORTED, TIMEOUT, ERROR)
# Failures before or around the script: the legacy vocabulary calls them Failed. A script that
# ran and exited non-zero was still "Finished" there; its ExitCode tells the rest.
NOT_RUN_CLASS = (INVALID, ABORTED, TIMEOUT, ERROR)
INSTANCE_STATUSES = (*ACTIVE, SUCCESS, *FAILED_CLASS, *STOPPED_CLASS)
# ErrorCodes of endings the controller infers from an agent's silence, not from a report: a
# genuine report of the same run, arriving late (after an outage, say), replaces them.
INFERRED_ENDINGS = ("DeliveryTimeout", "ClientNotResponse")


def is_terminal(status: str) -> bool:
    return status not in ACTIVE


def instance_invoke_status(status: str) -> str:
    """Legacy per-instance `InstanceInvokeStatus`: Running, Finished, Failed or Stopped."""
    if status in STOPPED_CLASS:
        return "Stopped"
    if status in NOT_RUN_CLASS:
        return "Failed"
    if status in (SUCCESS, FAILED):
        return "Finished"
    return "Running"


def invoke_record_status(status: str) -> str:
    """Per-record `InvokeRecordStatus`: as InstanceInvokeStatus, but Stopping shows as such."""
    return STOPPING if status == STOPPING else instance_invoke_status(status)


def record_statuses_matching(value: str) -> tuple[str, ...]:
    """Current statuses a record filter accepts; the filter may use either vocabulary."""
    return tuple(
        s
        for s in INSTANCE_STATUSES
        if value.lower() in (s.lower(), invoke_record_status(s).lower())
    )


def invocation_status(statuses: Iterable[str]) -> str:
    """Task-level `InvocationStatus`, by the documented precedence."""
    seen = set(statuses)
    for active in ACTIVE:
        if active in seen:
            return active
    if not seen or seen <= set(STOPPED_CLASS):
        return "Stopped"
    finished = seen - set(STOPPED_CLASS)
    if finished == {SUCCESS}:
        return SUCCESS
    if finished <= set(FAILED_CLASS):
        return FAILED
    return "PartialFailed"


def invoke_status(statuses: Iterable[str]) -> str:
    """Legacy task-level `InvokeStatus` of a one-time task."""
    statuses = tuple(statuses)
    legacy = {instance_invoke_status(s) for s in statuses}
    current = invocation_status(statuses)
    if current in ACTIVE:
        return STOPPING if current == STOPPING else RUNNING
    if not legacy or legacy == {"Stopped"}:
        return "Stopped"
    done = legacy - {"Stopped"}
    if done == {"Failed"}:
        return FAILED
    return "PartialFailed" if "Failed" in done else "Finished"
