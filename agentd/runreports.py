"""The reports of one run, numbered and put in the outbox, and what the record says at its end.

A run goes on when the disk refuses its reports: its start and outcome are held in memory and
sent all the same, output chunks are lost and counted. Such a run ends `Error`, saying so.
"""

from __future__ import annotations

import itertools
import logging
import time

from agentd.outbox import INTERRUPTED_SEQ, Outbox, Unwritable
from agentd.outcome import INTERRUPTED, Outcome
from assistcli.api.agent import Report, Task

logger = logging.getLogger("agentd")


class RunReports:
    def __init__(self, outbox: Outbox, task: Task) -> None:
        self._outbox = outbox
        self._task = task
        self._seq = itertools.count()
        self.problem: Unwritable | None = None  # the first write the disk refused
        self.lost = 0  # bytes of output the disk had no room for
        self._began = False
        self.outcome_stored = False  # on disk, not just in memory
        self.final: Report | None = None  # the report that ended the run

    def started(self, at: float) -> None:
        self._began = True
        self._put(self._report("started", at))

    def output(self, data: bytes) -> None:
        if not self._put(self._report("output", time.time(), output=data), keep=False):
            self.lost += len(data)

    def unrecorded(self, problem: Unwritable) -> None:
        """The ledger refused the run: it did not start."""
        self._note(problem)

    def finished(self, outcome: Outcome) -> Outcome:
        """Report the outcome (an Error if the agent's state could not be written); returns it."""
        if self.problem is not None:
            outcome = _unwritten(outcome, self.problem, self.lost, self._began)
        report = self._report(
            "finished",
            time.time(),
            status=outcome.status,
            exit_code=outcome.exit_code,
            error_code=outcome.error_code,
            error_info=outcome.error_info,
            dropped=outcome.dropped,
            output=outcome.tail,
        )
        self.outcome_stored = self._put(report)
        self.final = report
        return outcome

    def _report(self, event: str, at: float, **fields: object) -> Report:
        task = self._task
        return Report(
            invoke_id=task.invoke_id,
            run=task.run,
            seq=next(self._seq),
            event=event,
            time=at,
            **fields,  # type: ignore[arg-type]
        )

    def _put(self, report: Report, keep: bool = True) -> bool:
        """False when the disk refused the report."""
        problem = self._outbox.put(report, keep=keep)
        if problem is not None:
            self._note(problem)
        return problem is None

    def _note(self, problem: Unwritable) -> None:
        if self.problem is None:
            self.problem = problem
            logger.error("task %s: %s; it ends as an error", self._task.invoke_id, problem)


def _unwritten(outcome: Outcome, problem: Unwritable, lost: int, began: bool) -> Outcome:
    cause = f"The agent could not write its state ({problem.error.strerror or problem.error})"
    if not began:
        info = f"{cause}, so the command was not run."
    else:
        ending = outcome.status + (f" ({outcome.error_info})" if outcome.error_info else "")
        info = f"{cause}; {lost} bytes of output were lost. The command itself ended: {ending}"
    return Outcome(
        "Error",
        outcome.exit_code,
        "ExecutionException",
        info,
        outcome.dropped + lost,
        outcome.started,
        outcome.tail,
    )


def interrupted(key: str, at: float, killed: int | None, ended: bool = False) -> Report:
    """The report that ends a run the agent died in, found at its restart. `killed`: how many
    processes the run had left, now killed (None: the agent kept no trace of them); `ended`:
    the run had ended, but its outcome was only in memory."""
    invoke_id, _, run = key.rpartition(".")
    info = INTERRUPTED
    if ended:
        info = "The agent stopped before it could store the command's outcome"
    elif killed:
        info += f"; at its restart it killed the {killed} processes the command had left running"
    elif killed is not None:
        info += "; nothing of the command was still running at the agent's restart"
    return Report(
        invoke_id=invoke_id,
        run=int(run),
        seq=INTERRUPTED_SEQ,
        event="finished",
        time=at,
        status="Error",
        error_code="ExecutionInterrupted",
        error_info=info + ".",
    )
