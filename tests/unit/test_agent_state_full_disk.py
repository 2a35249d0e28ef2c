"""The agent's outbox and ledger on a full disk (a small tmpfs, so root only): reports that matter
are held in memory and still sent, output is dropped, ledger entries are finished in place."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from agent_helpers import fill, small_disk

from agentd.outbox import Ledger, Outbox, Unwritable
from assistcli.api.agent import Report


def report(seq: int, event: str = "output") -> Report:
    status = "Success" if event == "finished" else ""
    return Report(invoke_id="t-1", seq=seq, event=event, time=time.time(), status=status)


def test_the_outbox_holds_what_the_disk_refuses_and_writes_it_when_there_is_room(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        outbox = Outbox(disk / "outbox")
        assert outbox.put(report(0)) is None
        filler = fill(disk)
        assert isinstance(outbox.put(report(1), keep=False), Unwritable)  # lost
        problem = outbox.put(report(2, "finished"))
        assert problem is not None and "No space left on device" in str(problem)
        assert outbox.put(report(3, "finished")) is not None
        pending = outbox.pending()
        assert [r.seq for _, r in pending] == [0, 2, 3]  # held ones in their place
        assert outbox.invoke_ids() == {"t-1"}
        outbox.remove([pending[1][0]])  # acknowledged while held
        assert not any(p.name.startswith(".") for p in (disk / "outbox").iterdir()), "no halves"
        filler.unlink()
        assert [r.seq for _, r in outbox.pending()] == [0, 3]
        assert [r.seq for _, r in Outbox(disk / "outbox").pending()] == [0, 3]  # on disk now


def test_the_ledger_finishes_runs_in_place_on_a_full_disk(tmp_path: Path) -> None:
    where = {"scratch": "/tmp/agentd-x", "cgroup": "/sys/fs/cgroup/x"}
    with small_disk(tmp_path / "disk") as disk:
        ledger = Ledger(disk / "ledger")
        for key in ("t-1.1", "t-2.1"):
            ledger.start(key)
            ledger.start(key, where)
        assert ledger.record("t-1.1") == where
        assert sorted(ledger.unfinished()) == ["t-1.1", "t-2.1"]
        fill(disk)
        ledger.finish("t-1.1")
        ledger.finish("t-2.1", stored=False)  # its outcome is only in memory
        assert ledger.unfinished() == ["t-2.1"], "a restart reports it all the same"
        assert ledger.ended("t-2.1") and not ledger.ended("t-1.1")
        assert ledger.record("t-2.1") == {}, "nothing of it is left to kill"
        with pytest.raises(Unwritable):
            ledger.start("t-3.1")
        assert ledger.seen("t-3.1"), "a run the disk refused is not run again by this agent"
