"""What a run's output becomes, with a real agent and controller: the record shows its head and
its tail within 24,576 bytes, `Dropped` the exact number of bytes cut from the middle, and the
controller keeps the whole output beside it, up to its cap, for its retention time.

Each controller keeps whole output (agentd streams it all, the controller cuts the record) or
not (`--output-cap 0`: agentd streams the head and sends the tail with the outcome, as it does
to controllers that predate kept output). These tests kill and restart controllers, so they
use controllers of their own.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_helpers import result, run_script, wait_status
from conftest import Controller, StartAgent, StartController, wait_for

from assistcli.api.agent import OUTPUT_HEAD, OUTPUT_LIMIT
from assistcli.controller.store import open_store

pytestmark = pytest.mark.e2e

# 20,000 numbered lines, then the line that matters, on stderr: 108,911 bytes in all.
LONG_SCRIPT = (
    "seq 1 20000; echo 'E: Sub-process /usr/bin/dpkg returned an error code (1)' >&2; exit 100"
)
LONG_OUTPUT = (
    "".join(f"{n}\n" for n in range(1, 20001))
    + "E: Sub-process /usr/bin/dpkg returned an error code (1)\n"
).encode()


@pytest.fixture(scope="module", params=["kept", "not kept"])
def ctl(request: pytest.FixtureRequest, start_controller: StartController) -> Iterator[Controller]:
    controller = start_controller(*(["--output-cap", "0"] if request.param == "not kept" else []))
    yield controller
    controller.kill()


@pytest.fixture
def running_ctl(ctl: Controller) -> Controller:
    """The module's controller, started again should an earlier test have left it down."""
    if ctl.process is None or ctl.process.poll() is not None:
        ctl.start()
    return ctl


def shown(row: dict[str, object]) -> bytes:
    return base64.b64decode(str(row["Output"]))


def head_and_tail(whole: bytes) -> bytes:
    return whole if len(whole) <= OUTPUT_LIMIT else whole[:OUTPUT_HEAD] + whole[-OUTPUT_HEAD:]


def kept_output(ctl: Controller, invoke_id: str, instance_id: str) -> bytes | None:
    """What the controller keeps of the run beside its record, read from its store."""

    async def read() -> bytes | None:
        store = open_store(ctl.store, ctl.data_dir)
        await store.open()
        try:
            found = await store.read_output(invoke_id, instance_id, 1, 0, 1 << 30)
        finally:
            await store.close()
        return None if found is None else found[1]

    return asyncio.run(read())


def test_a_long_output_keeps_its_head_and_its_tail(
    running_ctl: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(running_ctl)
    invoke_id = run_script(running_ctl, agent.instance_id, LONG_SCRIPT)
    row = wait_status(running_ctl, invoke_id, encoding="Base64")
    assert (row["InvocationStatus"], row["ExitCode"]) == ("Failed", 100)
    assert shown(row) == head_and_tail(LONG_OUTPUT)
    assert shown(row).endswith(b"returned an error code (1)\n")
    assert row["Dropped"] == len(LONG_OUTPUT) - OUTPUT_LIMIT
    kept = None if "--output-cap" in running_ctl.extra_args else LONG_OUTPUT
    assert kept_output(running_ctl, invoke_id, agent.instance_id) == kept


def test_an_output_within_the_limit_is_shown_whole(
    running_ctl: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(running_ctl)
    script = f"head -c {OUTPUT_LIMIT - 1} /dev/zero | tr '\\0' a; echo"
    invoke_id = run_script(running_ctl, agent.instance_id, script)
    row = wait_status(running_ctl, invoke_id, encoding="Base64")
    assert (shown(row), row["Dropped"]) == (b"a" * (OUTPUT_LIMIT - 1) + b"\n", 0)
    assert kept_output(running_ctl, invoke_id, agent.instance_id) is None  # the record has it


def test_the_tail_survives_an_agent_killed_before_it_was_delivered(
    running_ctl: Controller, start_agent: StartAgent, tmp_path: Path
) -> None:
    ctl = running_ctl
    agent = start_agent(ctl)
    gate = tmp_path / "go"
    script = f"while [ ! -e {gate} ]; do sleep 0.05; done; {LONG_SCRIPT}"
    invoke_id = run_script(ctl, agent.instance_id, script)
    wait_status(ctl, invoke_id, {"Running"}, timeout=5)
    ctl.kill()
    entry = agent.state_dir / "ledger" / f"{invoke_id}.1"
    try:
        gate.touch()
        wait_for(lambda: entry.read_bytes().startswith(b"finished"), 10, "the run to end")
        agent.kill()  # its reports, the tail with the outcome, are only in its outbox
    finally:
        ctl.start()
    agent.start()
    row = wait_status(ctl, invoke_id, timeout=30, encoding="Base64")
    assert (row["InvocationStatus"], row["ExitCode"]) == ("Failed", 100)
    assert shown(row) == head_and_tail(LONG_OUTPUT)
    assert row["Dropped"] == len(LONG_OUTPUT) - OUTPUT_LIMIT
    assert result(ctl, invoke_id)["InvocationStatus"] == "Failed"


@pytest.fixture(scope="module")
def capped(start_controller: StartController) -> Iterator[Controller]:
    controller = start_controller("--output-cap", "64KiB", "--output-retention", "5")
    yield controller
    controller.kill()


def test_output_beyond_the_cap_is_not_kept_and_the_rest_is_purged_in_time(
    capped: Controller, start_agent: StartAgent
) -> None:
    agent = start_agent(capped)
    invoke_id = run_script(capped, agent.instance_id, LONG_SCRIPT)
    row = wait_status(capped, invoke_id, encoding="Base64")
    assert shown(row) == head_and_tail(LONG_OUTPUT)  # the end, though it was not kept
    assert row["Dropped"] == len(LONG_OUTPUT) - OUTPUT_LIMIT
    assert kept_output(capped, invoke_id, agent.instance_id) == LONG_OUTPUT[: 64 * 1024]
    wait_for(
        lambda: kept_output(capped, invoke_id, agent.instance_id) is None,
        15,
        "the kept output to be purged",
    )
    assert shown(result(capped, invoke_id, "Base64")) == head_and_tail(LONG_OUTPUT)
