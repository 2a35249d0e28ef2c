"""The four status vocabularies stay consistent (reference §3)."""

from __future__ import annotations

import json

import pytest

from assistcli.api import status as st
from assistcli.api.agent import FINAL_STATUSES


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


def test_statuses_serialize_as_the_api_strings() -> None:
    status = st.RecordStatus.STOPPING
    assert (str(status), f"{status}", json.dumps([status])) == (
        "Stopping",
        "Stopping",
        '["Stopping"]',
    )
    assert status == "Stopping" and "Stopping" in {status} and {status: 1}["Stopping"] == 1
    assert st.invocation_status(["Success"]) is st.InvocationStatus.SUCCESS


def test_agents_report_outcomes_of_the_record_vocabulary() -> None:
    assert set(FINAL_STATUSES) <= {s.value for s in st.RecordStatus}
    assert all(type(s) is str for s in FINAL_STATUSES)  # agentd sends plain strings


@pytest.mark.parametrize(
    ("mode", "status", "timed"),
    [
        ("Period", "Scheduled", True),
        ("EveryReboot", "Running", True),
        ("NextRebootOnly", "Pending", True),
        ("Period", "Stopping", False),  # being stopped: it will not run again
        ("Period", "Stopped", False),
        ("Once", "Running", False),
    ],
)
def test_timed_is_a_repeating_task_that_will_still_run(mode: str, status: str, timed: bool) -> None:
    assert st.is_timed(mode, status) is timed
