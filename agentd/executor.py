"""Run one task: a script in its own process group, or a file write. No networking here.

Output (stdout and stderr together) is captured as capture.py says: its head is streamed
through `emit` while the script runs, its tail returned with the outcome. A timeout or a stop
kills everything the run started, even what left the script's session (TERM, a grace period,
KILL: see proctree), or the script alone when TerminationMode is Process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agentd import accounts, proctree
from agentd.capture import Capture, Window
from agentd.files import write_file
from agentd.launcher import Launcher, LauncherError
from agentd.launcher import parse as parse_launcher
from agentd.outcome import INTERRUPTED, Outcome, invalid
from assistcli.api.agent import INTERPRETERS, OUTPUT_HEAD, Task

KILL_GRACE = 3.0  # seconds between TERM and KILL


class Execution:
    """A task being run; `cancel()` from another thread stops it."""

    def __init__(self, task: Task, interpreters: list[str]) -> None:
        self.task = task
        self.interpreters = interpreters
        self._scratch: Path | None = None  # the run's private directory, removed at its end
        self._cancelled = threading.Event()
        self._interrupted = threading.Event()  # the agent is exiting and killed the run
        self._process: subprocess.Popen[bytes] | None = None
        self._tree: proctree.Tree | None = None  # the run's processes, once it has any

    def cancel(self) -> None:
        self._cancelled.set()

    def kill_now(self) -> None:
        """Kill everything the run started, at once (the agent is exiting): the run ends as
        interrupted, as it would had the agent died, not as failed by the kill's exit code."""
        self._interrupted.set()
        if self._tree is not None:
            self._tree.kill()

    def run(
        self,
        on_start: Callable[[float], None],
        emit: Callable[[bytes], None],
        on_record: Callable[[dict[str, str]], None] | None = None,
    ) -> Outcome:
        """Run the task. Before its script starts, `on_record` gets what finds the run's processes
        and files again should the agent die (for `abandon`); if it raises, nothing starts."""
        if self.task.kind == "file" and self.task.file is not None:
            on_start(time.time())
            return write_file(self.task.file)
        try:
            prepared = self._prepare()
            if isinstance(prepared, Outcome):
                return prepared
            argv, account, cwd = prepared
            return self._execute(argv, account, cwd, on_start, emit, on_record)
        finally:
            if self._tree is not None:
                self._tree.close()
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)

    def _prepare(self) -> Outcome | tuple[list[str], accounts.Account, str]:
        task = self.task
        if INTERPRETERS.get(task.command_type) not in self.interpreters:
            return invalid(
                "CommandNotApplicable",
                "The OS type of the instance does not support the specified command type.",
            )
        try:
            account = accounts.lookup(task.username)
        except PermissionError as error:
            return Outcome(status="Error", error_code="ExecutionException", error_info=str(error))
        if account is None:
            return invalid(
                "AccountNotExists", f"The specified account does not exist: {task.username}"
            )
        cwd = task.working_dir or (account.home if os.path.isdir(account.home) else "/")
        if not os.path.isdir(cwd):
            return invalid("DirectoryNotExists", f"The specified directory does not exist: {cwd}")
        try:
            launcher = parse_launcher(task.launcher) if task.launcher else None
        except LauncherError as error:
            return invalid("InvalidLauncher", str(error))
        return self._script_argv(account, launcher), account, cwd

    def _script_argv(self, account: accounts.Account, launcher: Launcher | None) -> list[str]:
        """Write the script into a fresh directory only the run's user can enter."""
        suffix = {"RunPowerShellScript": ".ps1", "RunBatScript": ".bat"}.get(
            self.task.command_type, ".sh"
        )
        if launcher is not None and launcher.extension:
            suffix = launcher.extension
        self._scratch = Path(tempfile.mkdtemp(prefix="agentd-"))  # mode 0700
        path = self._scratch / f"{self.task.invoke_id}{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.task.script)
        if account.switch:
            os.chown(self._scratch, account.uid, account.gid)
            os.chown(path, account.uid, account.gid)
        if launcher is not None:
            return launcher.argv(str(path))
        if self.task.command_type == "RunPowerShellScript":
            return ["pwsh", "-NoProfile", "-NonInteractive", "-File", str(path)]
        if self.task.command_type == "RunBatScript":
            return ["cmd.exe", "/c", str(path)]
        # /bin/sh semantics, unless the script names its own interpreter.
        return [str(path)] if self.task.script.startswith(b"#!") else ["/bin/sh", str(path)]

    def _execute(
        self,
        argv: list[str],
        account: accounts.Account,
        cwd: str,
        on_start: Callable[[float], None],
        emit: Callable[[bytes], None],
        on_record: Callable[[dict[str, str]], None] | None,
    ) -> Outcome:
        tree = self._tree = proctree.Tree.create(self.task.key)
        if on_record is not None:
            on_record({"scratch": str(self._scratch or ""), **tree.record()})
        started = time.time()
        try:
            with tree.spawning():
                process = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=tree.environment(account.environment()),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own session: a terminal's signals miss it
                    **account.popen_args(),
                )
        except OSError as error:
            return Outcome(status="Error", error_code="ExecutionException", error_info=str(error))
        self._process = process
        on_start(started)
        assert process.stdout is not None
        # The controller keeps the first output_cap bytes of the output: they are all streamed.
        capture = Capture(process.stdout, emit, Window(max(OUTPUT_HEAD, self.task.output_cap)))
        reader = threading.Thread(target=capture.pump, daemon=True)
        reader.start()
        ending = self._wait(process, started + self.task.timeout)
        reader.join(timeout=KILL_GRACE)  # a detached grandchild may hold the pipe open
        outcome = self._outcome(process.returncode, ending)
        outcome.tail = capture.close()
        outcome.dropped, outcome.started = capture.window.dropped, started
        return outcome

    def _wait(self, process: subprocess.Popen[bytes], deadline: float) -> str:
        """'exited', 'timeout' or 'stopped'; the latter two after killing the script."""
        while True:
            try:
                process.wait(timeout=max(0.0, min(0.2, deadline - time.time())))
                return "exited"
            except subprocess.TimeoutExpired:
                pass
            if self._cancelled.is_set() or time.time() >= deadline:
                self._terminate(process)
                return "stopped" if self._cancelled.is_set() else "timeout"

    def _terminate(self, process: subprocess.Popen[bytes]) -> None:
        tree = self._tree
        if self.task.termination_mode == "Process" or tree is None:  # the script alone
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=KILL_GRACE)
            process.kill()
        else:
            tree.signal(signal.SIGTERM)
            tree.wait_gone(KILL_GRACE)
            tree.kill()  # whatever ignored TERM, wherever it went
        process.wait()

    def _outcome(self, code: int, ending: str) -> Outcome:
        exit_code = 128 - code if code < 0 else code  # killed by signal N: 128 + N, as shells say
        if self._interrupted.is_set():
            info = f"{INTERRUPTED}; it killed the command's processes as it exited."
            return Outcome("Error", exit_code, "ExecutionInterrupted", info)
        if ending == "timeout":
            return Outcome(
                "Timeout", exit_code, "ExecutionTimeout", "The command execution has been timeout."
            )
        if ending == "stopped":
            return Outcome("Terminated", exit_code)
        if exit_code != 0:
            return Outcome(
                "Failed",
                exit_code,
                "ExitCodeNonzero",
                "The command execution exit code is not zero.",
            )
        return Outcome("Success", 0)


def abandon(record: dict[str, str]) -> int:
    """End what a run left when its agent died (from what `on_record` got): kill its processes
    and remove its directory. Returns how many processes were killed."""
    killed = proctree.end_recorded(record)
    if record.get("scratch"):
        shutil.rmtree(record["scratch"], ignore_errors=True)
    return killed
