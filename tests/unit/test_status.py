"""The four status vocabularies stay consistent (reference §3)."""

from __future__ import annotations

import pytest

from assistcli.api import status as st


@pytest.mark.parametrize(
    ("instances", "overall", "legacy"),
    [
        (["Pending", "Running"], "Pending", "Running"),
        (["Running", "Success"], "Running", "Running"),
        (["Stopping", "Success"], "Stopping", "Stopping"),
        (["Success", "Success"], "Success", "Finished"),
        (["Success", "Cancelled"], "Success", "Finished"),
        (["Failed"], "Failed", "Finished"),  # ran, exited non-zero: legacy calls that Finished
        (["Aborted", "Timeout"], "Failed", "Failed"),
        (["Success", "Aborted"], "PartialFailed", "PartialFailed"),
        (["Success", "Failed"], "PartialFailed", "Finished"),
        (["Cancelled", "Terminated"], "Stopped", "Stopped"),
        (["Aborted", "Cancelled"], "Failed", "Failed"),
    ],
)
def test_task_level_statuses(instances: list[str], overall: str, legacy: str) -> None:
    assert st.invocation_status(instances) == overall
    assert st.invoke_status(instances) == legacy


@pytest.mark.parametrize(
    ("status", "instance_legacy", "record"),
    [
        ("Pending", "Running", "Running"),
        ("Stopping", "Running", "Stopping"),
        ("Success", "Finished", "Finished"),
        ("Invalid", "Failed", "Failed"),
        ("Cancelled", "Stopped", "Stopped"),
        ("Terminated", "Stopped", "Stopped"),
    ],
)
def test_per_instance_legacy_statuses(status: str, instance_legacy: str, record: str) -> None:
    assert st.instance_invoke_status(status) == instance_legacy
    assert st.invoke_record_status(status) == record


def test_record_filter_accepts_both_vocabularies() -> None:
    assert st.record_statuses_matching("finished") == ("Success", "Failed")
    assert st.record_statuses_matching("Aborted") == ("Aborted",)
    assert st.record_statuses_matching("nonsense") == ()
