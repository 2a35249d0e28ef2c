"""agentd's parts on their own: outbox, ledger, executor (real subprocesses), file writes."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from agentd.executor import Execution
from agentd.files import write_file
from agentd.outbox import Ledger, Outbox
from agentd.service import Backoff
from assistcli.api.agent import OUTPUT_HEAD, OUTPUT_LIMIT, FileTask, Report, Task


def test_outbox_keeps_reports_in_order_until_removed(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    for seq in range(3):
        outbox.put(Report(invoke_id="t-1", seq=seq, event="output", time=1e9, output=b"x"))
    (tmp_path / "00000000000000000000-torn.json").write_text("{not json")
    pending = Outbox(tmp_path).pending()  # as after a restart
    assert [r.seq for _, r in pending] == [0, 1, 2]
    assert not (tmp_path / "00000000000000000000-torn.json").exists()
    outbox.remove([pending[0][0]])
    assert [r.seq for _, r in outbox.pending()] == [1, 2]


def test_ledger_remembers_runs_and_finds_interrupted_ones(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    ledger.start("t-1")
    ledger.start("t-2")
    ledger.finish("t-2")
    assert ledger.seen("t-1") and ledger.seen("t-2") and not ledger.seen("t-3")
    assert Ledger(tmp_path).unfinished() == ["t-1"]
    old = time.time() - 8 * 24 * 3600
    os.utime(tmp_path / "t-2", (old, old))
    ledger.prune(time.time())
    assert not ledger.seen("t-2") and ledger.seen("t-1")  # unfinished entries are kept


def execute(script: str, **task: object) -> tuple[object, bytes, list[float]]:
    chunks: list[bytes] = []
    starts: list[float] = []
    execution = Execution(
        Task(invoke_id="t-x", script=script.encode(), **task),  # type: ignore[arg-type]
        ["sh"],
    )
    outcome = execution.run(on_start=starts.append, emit=chunks.append)
    return outcome, b"".join(chunks), starts


def test_a_script_runs_and_reports() -> None:
    outcome, output, starts = execute("echo out; echo err >&2; exit 0")
    assert (outcome.status, outcome.exit_code, outcome.dropped) == ("Success", 0, 0)  # type: ignore[attr-defined]
    assert output == b"out\nerr\n" and len(starts) == 1


def test_the_script_lives_in_a_private_directory_removed_afterwards() -> None:
    _, output, _ = execute('echo "$0"; stat -c %a "$(dirname "$0")"')
    path, mode = output.decode().split()
    assert mode == "700" and not Path(path).parent.exists()


def test_a_shebang_picks_the_interpreter() -> None:
    outcome, output, _ = execute("#!/usr/bin/env python3\nprint(6 * 7)\n")
    assert output == b"42\n" and outcome.status == "Success"  # type: ignore[attr-defined]


def test_non_zero_exit_fails() -> None:
    outcome, _, _ = execute("exit 3")
    assert (outcome.status, outcome.exit_code, outcome.error_code) == (  # type: ignore[attr-defined]
        "Failed",
        3,
        "ExitCodeNonzero",
    )


def test_the_head_is_streamed_the_tail_kept_and_the_middle_counted() -> None:
    outcome, output, _ = execute("seq 1 20000")
    whole = "".join(f"{n}\n" for n in range(1, 20001)).encode()
    assert output == whole[:OUTPUT_HEAD]
    assert outcome.tail == whole[-(OUTPUT_LIMIT - OUTPUT_HEAD) :]  # type: ignore[attr-defined]
    assert outcome.dropped == len(whole) - OUTPUT_LIMIT  # type: ignore[attr-defined]


def test_output_within_the_limit_is_kept_whole() -> None:
    outcome, output, _ = execute(f"head -c {OUTPUT_LIMIT} /dev/zero")
    assert output + outcome.tail == bytes(OUTPUT_LIMIT) and outcome.dropped == 0  # type: ignore[attr-defined]


def test_timeout_kills_the_whole_tree(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = f"sleep 300 & echo $! > {pid_file}; sleep 300"
    outcome, _, _ = execute(script, timeout=1)
    assert (outcome.status, outcome.error_code) == ("Timeout", "ExecutionTimeout")  # type: ignore[attr-defined]
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:  # init reaps it asynchronously
        time.sleep(0.02)
    assert not alive(grandchild)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.parametrize(
    ("task", "code"),
    [
        ({"command_type": "RunBatScript"}, "CommandNotApplicable"),
        ({"working_dir": "/no/such/dir"}, "DirectoryNotExists"),
        ({"username": "no-such-user-xyz"}, "AccountNotExists"),
    ],
)
def test_what_cannot_run_is_invalid(task: dict[str, object], code: str) -> None:
    outcome, _, starts = execute("echo never", **task)
    assert (outcome.status, outcome.error_code) == ("Invalid", code)  # type: ignore[attr-defined]
    assert starts == []


def test_files_are_written_with_mode_and_respect_overwrite(tmp_path: Path) -> None:
    spec = FileTask(name="a.conf", target_dir=str(tmp_path / "new"), content=b"x=1\n", mode="0600")
    spec.owner = spec.group = _me()
    assert write_file(spec).status == "Success"
    written = tmp_path / "new" / "a.conf"
    assert written.read_bytes() == b"x=1\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert write_file(spec).error_code == "FileAlreadyExists"
    spec.overwrite, spec.content = True, b"x=2\n"
    assert write_file(spec).status == "Success" and written.read_bytes() == b"x=2\n"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"mode": "99x"}, "FileAuthorityInvalid"),
        ({"owner": "no-such-user-xyz"}, "AccountNotExists"),
        ({"group": "no-such-group-xyz"}, "UserGroupNotExists"),
        ({"name": "../escape"}, "FileNameInvalid"),
        ({"target_dir": "relative"}, "FilePathInvalid"),
        ({"name": "a\0b"}, "FileNameInvalid"),
        ({"target_dir": "/tmp/a\0b"}, "FilePathInvalid"),
        ({"target_dir": "/tmp/../etc"}, "FilePathInvalid"),
    ],
)
def test_bad_file_specs_are_invalid(tmp_path: Path, change: dict[str, str], code: str) -> None:
    fields = {"name": "f", "target_dir": str(tmp_path), "content": b"", "owner": _me()}
    spec = FileTask(**{"group": _group(), **fields, **change})  # type: ignore[arg-type]
    assert (write_file(spec).status, write_file(spec).error_code) == ("Invalid", code)


def test_backoff_grows_with_jitter_and_caps() -> None:
    backoff = Backoff(base=1.0, cap=8.0)
    delays = [backoff.next() for _ in range(6)]
    assert 0.5 <= delays[0] <= 1.5 and all(d <= 12.0 for d in delays)
    assert delays[-1] >= 4.0
    backoff.reset()
    assert backoff.next() <= 1.5


def test_failures_are_quiet_while_few_or_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A controller restarting takes a few seconds: failures in its first seconds are INFO."""
    import logging

    from agentd import service

    clock = [100.0]
    monkeypatch.setattr(service.time, "monotonic", lambda: clock[0])
    backoff = Backoff()
    levels = []
    for _ in range(5):
        backoff.next()
        levels.append(backoff.level())
        clock[0] += 1.0
    assert levels == [logging.INFO] * 5
    clock[0] += service.QUIET_OUTAGE
    backoff.next()
    assert backoff.level() == logging.WARNING
    backoff.reset()
    backoff.next()
    assert backoff.level() == logging.INFO


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _group() -> str:
    import grp

    return grp.getgrgid(os.getegid()).gr_name


def test_a_redelivered_run_is_not_run_again(tmp_path: Path) -> None:
    from agentd.config import Identity
    from agentd.service import Agent

    agent = Agent(Identity(("http://127.0.0.1:9",), "mi-1", "test", "secret"), tmp_path)
    agent.ledger.start("t-ran.1")
    agent.ledger.finish("t-ran.1")
    agent.accept(Task(invoke_id="t-ran", run=1, script=b"exit 1"))
    assert not agent.busy()
    agent.recover()  # nothing was interrupted: nothing to report
    assert agent.outbox.pending() == []


def test_a_run_the_agent_died_in_is_reported_interrupted(tmp_path: Path) -> None:
    from agentd.config import Identity
    from agentd.service import Agent

    Ledger(tmp_path / "ledger").start("t-cut.2")  # started, then the agent was killed
    agent = Agent(Identity(("http://127.0.0.1:9",), "mi-1", "test", "secret"), tmp_path)
    agent.recover()
    [(_, interrupted)] = agent.outbox.pending()
    assert (interrupted.event, interrupted.status, interrupted.error_code) == (
        "finished",
        "Error",
        "ExecutionInterrupted",
    )
    assert (interrupted.invoke_id, interrupted.run) == ("t-cut", 2)
    assert agent.ledger.unfinished() == []
    agent.accept(Task(invoke_id="t-cut", run=2, script=b"exit 1"))  # delivered again: not rerun
    assert not agent.busy()
