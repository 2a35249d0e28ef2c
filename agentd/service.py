"""The running agent: a poller, a reporter and one worker thread per task.

The poller holds one long-poll open and hands tasks to workers (at most `max_concurrency` run
at once). Workers write every report to the outbox; the reporter sends the outbox and deletes
what the controller acknowledged. On SIGTERM the agent stops polling, lets running tasks finish
and flushes its outbox; a second signal kills the tasks and exits at once.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from pathlib import Path
from types import FrameType

from agentd import host, runreports, trust
from agentd.client import ControllerClient, ControllerUnreachable, Refused
from agentd.config import Identity
from agentd.executor import Execution, abandon
from agentd.outbox import Ledger, Outbox, Unwritable
from agentd.outcome import Outcome
from agentd.servers import Servers
from assistcli.api.agent import MAX_ACTIVE, POLL_WAIT, Report, Task

logger = logging.getLogger("agentd")

FLUSH_TIMEOUT = 10.0  # seconds a draining agent keeps trying to deliver its outbox
# Seconds before the next poll when one brought nothing new (only tasks already run or queued):
# a controller that keeps handing a task back cannot drive the agent into a busy loop.
NOTHING_NEW_PAUSE = 1.0
QUIET_FAILURES = 2  # failures in a row logged at INFO before they are warnings...
QUIET_OUTAGE = 10.0  # ...unless they all fall within this many seconds: a controller restarting


class Backoff:
    """Exponential delays with jitter, so a fleet does not reconnect in lockstep."""

    def __init__(self, base: float = 0.5, cap: float = 30.0) -> None:
        self.base, self.cap, self.failures = base, cap, 0
        self.since = 0.0  # monotonic time of the first failure in a row

    def next(self) -> float:
        if not self.failures:
            self.since = time.monotonic()
        self.failures += 1
        delay: float = min(self.cap, self.base * 2 ** (self.failures - 1))
        return delay * random.uniform(0.5, 1.5)

    def reset(self) -> None:
        self.failures = 0

    def level(self) -> int:
        """How loudly to log the latest failure: the first few in a row, or those of the first
        seconds (a controller restarting, a connection dropped), are routine; more are worth a
        warning."""
        quiet = self.failures <= QUIET_FAILURES or time.monotonic() - self.since < QUIET_OUTAGE
        return logging.INFO if quiet else logging.WARNING


class Agent:
    def __init__(
        self,
        identity: Identity,
        state_dir: Path,
        max_concurrency: int = 8,
        poll_wait: float = POLL_WAIT,
    ) -> None:
        self.identity = identity
        self.poll_wait = poll_wait
        self.outbox = Outbox(state_dir / "outbox")
        self.ledger = Ledger(state_dir / "ledger")
        self.facts = host.facts()
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self._running: dict[str, Execution] = {}
        self._queued: set[str] = set()
        self._dropped: set[str] = set()  # stopped before they started
        self._draining = threading.Event()
        self.refusal: Refused | None = None
        self.ca = trust.kept(state_dir)  # None: the system's CAs check an https:// controller
        # Polls and reports go to the current one; a move ends a poll held on the one left.
        self.servers = Servers(identity.servers, on_move=lambda _: self._poll_client.interrupt())
        self._poll_client = self._client(self.servers.current)

    def _client(self, server: str) -> ControllerClient:
        identity = self.identity
        return ControllerClient(server, identity.instance_id, identity.secret, self.ca)

    def _current(self, client: ControllerClient) -> ControllerClient:
        """`client`, or one for the current server when the agent has moved to another."""
        server = self.servers.current
        if client.server == server:
            return client
        client.close()
        return self._client(server)

    # Lifecycle ----------------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until stopped; 0 after a graceful stop, 3 when the controller refuses us."""
        self.recover()
        threads = [
            threading.Thread(target=self.poll_loop, name="poller", daemon=True),
            threading.Thread(target=self.report_loop, name="reporter", daemon=True),
        ]
        for thread in threads:
            thread.start()
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self._draining.is_set():
                self._draining.wait(0.5)
            if self.refusal is not None:  # deregistered: its records have ended, stop its work
                self._kill_running()
            while self.busy():
                time.sleep(0.1)
            self._flush(time.monotonic() + FLUSH_TIMEOUT)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if self.refusal is not None:
            logger.error("the controller refused this instance: %s", self.refusal)
            return 3
        logger.info("stopped")
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._draining.is_set():
            logger.warning("second signal: killing running tasks and exiting")
            self._kill_running()
            raise SystemExit(1)
        logger.info("signal %d: finishing running tasks, then exiting", signum)
        self._draining.set()
        self._poll_client.close()  # ends the long-poll now

    def _kill_running(self) -> None:
        with self._lock:
            for execution in self._running.values():
                execution.kill_now()

    def _refused(self, refusal: Refused) -> None:
        """The controller refused this instance for good (deregistered, or a wrong secret)."""
        self.refusal = refusal
        self._draining.set()
        self._poll_client.close()  # ends a held poll now

    def busy(self) -> bool:
        with self._lock:
            return bool(self._running or self._queued)

    def _flush(self, deadline: float) -> None:
        """Give the reporter until `deadline` to deliver the outbox (nothing will be accepted
        from a refused instance)."""
        while self.refusal is None and self.outbox.pending(limit=1):
            if time.monotonic() >= deadline:
                return
            time.sleep(0.05)

    def recover(self) -> None:
        """Runs the agent died in end as interrupted: what they left running is killed, their
        files removed, and they are reported, never run again."""
        now = time.time()
        for key in self.ledger.unfinished():
            record = self.ledger.record(key)
            killed = abandon(record) if record else None
            logger.warning("task %s was interrupted by the agent's restart", key)
            self.outbox.put(runreports.interrupted(key, now, killed, self.ledger.ended(key)))
            try:
                self.ledger.finish(key)
            except Unwritable as problem:  # reported all the same; seen for this process's life
                logger.error("task %s: %s", key, problem)
        self.ledger.prune(now)

    # Polling ------------------------------------------------------------------------------------
    def poll_loop(self) -> None:
        backoff = Backoff()
        while True:
            client = self._poll_client = self._current(self._poll_client)
            if self._draining.is_set():
                return
            active = self._active()
            # Named up to the protocol's bound; those past it are settled as reports drain.
            settling = sorted(self.outbox.invoke_ids().difference(active))[:MAX_ACTIVE]
            body = {**self.facts.to_wire(), "active": active, "settling": settling}
            try:
                answer = client.poll(body, self.poll_wait)
            except ControllerUnreachable as error:
                # Another server is tried at once; once all have failed in a row, later.
                if not self._draining.is_set() and self.servers.failed(client.server, error):
                    delay = backoff.next()
                    message = "controller unreachable (%s); retrying in %.1fs"
                    logger.log(backoff.level(), message, error, delay)
                    self._draining.wait(delay)
                continue
            except Refused as refusal:
                self._refused(refusal)
                return
            backoff.reset()
            self.servers.answered(client.server)
            if not self._apply(answer) and (answer.get("tasks") or answer.get("cancel")):
                self._draining.wait(NOTHING_NEW_PAUSE)

    def _active(self) -> list[str]:
        with self._lock:
            return sorted(self._running.keys() | self._queued)

    def _apply(self, answer: dict[str, object]) -> bool:
        """Act on a poll's answer; False when it held nothing new."""
        news = False
        for invoke_id in answer.get("cancel", []) or []:  # type: ignore[attr-defined]
            with self._lock:
                if invoke_id in self._running:
                    self._running[invoke_id].cancel()
                    news = True
                elif invoke_id in self._queued:
                    self._dropped.add(invoke_id)
                    news = True
        for wire in answer.get("tasks", []) or []:  # type: ignore[attr-defined]
            news = self.accept(Task.from_wire(wire)) or news
        return news

    def accept(self, task: Task) -> bool:
        """Queue a delivered task, unless it is known: a redelivery must not run twice.
        False for a known one."""
        with self._lock:
            known = task.invoke_id in self._running or task.invoke_id in self._queued
            if known or self.ledger.seen(task.key):
                if not known:
                    self._settle(task)
                return False
            self._queued.add(task.invoke_id)
        logger.info("task %s: received", task.invoke_id)
        threading.Thread(target=self.work, args=(task,), name=task.invoke_id, daemon=True).start()
        return True

    def _settle(self, task: Task) -> None:
        """A run delivered again after it ended, with none of its reports left to send: the
        controller never applied its end (its store was restored, say). Its final report is
        sent again from the ledger, so that the record ends instead of being handed back."""
        if task.invoke_id in self.outbox.invoke_ids():
            return  # its reports are on their way
        final = self.ledger.outcome(task.key)
        if final is not None:
            logger.info("task %s ran already; its outcome is reported again", task.invoke_id)
            self.outbox.put(final)

    # Work ---------------------------------------------------------------------------------------
    def work(self, task: Task) -> None:
        with self._slots:
            with self._lock:
                self._queued.discard(task.invoke_id)
                if self._draining.is_set() or task.invoke_id in self._dropped:
                    return  # not started: the controller delivers it again, or it was stopped
                execution = Execution(task, self.facts.interpreters)
                self._running[task.invoke_id] = execution
            try:
                self._execute(task, execution)
            finally:
                with self._lock:
                    self._running.pop(task.invoke_id, None)

    def _execute(self, task: Task, execution: Execution) -> None:
        reports = runreports.RunReports(self.outbox, task)
        try:
            self.ledger.start(task.key)
            outcome = execution.run(
                on_start=reports.started,
                emit=reports.output,
                on_record=lambda record: self.ledger.start(task.key, record),
            )
        except Unwritable as problem:  # nothing started that the ledger does not know of
            reports.unrecorded(problem)
            outcome = Outcome("Error")
        except Exception as error:  # a bug here must still end the run with a status
            logger.exception("task %s failed", task.invoke_id)
            outcome = Outcome("Error", error_code="ExecutionException", error_info=str(error))
        outcome = reports.finished(outcome)
        try:
            self.ledger.finish(task.key, reports.outcome_stored, reports.final)
        except Unwritable as problem:
            logger.error("task %s: %s", task.invoke_id, problem)
        logger.info("task %s: %s", task.invoke_id, outcome.status)

    # Reporting ----------------------------------------------------------------------------------
    def report_loop(self) -> None:
        client, backoff = self._client(self.servers.current), Backoff()
        while self.refusal is None:
            batch = self.outbox.pending()
            if not batch:
                self.outbox.wait(1.0)
                continue
            client = self._current(client)
            try:
                self._deliver(client, batch)
            except ControllerUnreachable as error:
                if self.servers.failed(client.server, error):
                    delay = backoff.next()
                    message = "cannot report (%s); retrying in %.1fs"
                    logger.log(backoff.level(), message, error, delay)
                    self.outbox.wait(delay)
                continue
            except Refused as refusal:  # the instance is gone: nothing will be accepted
                self._refused(refusal)
                return
            backoff.reset()
            self.servers.answered(client.server)

    def _deliver(self, client: ControllerClient, batch: list[tuple[Path, Report]]) -> None:
        """Send reports and drop what the controller acknowledged. A batch refused as malformed
        is sent again one report at a time, and a report refused on its own is dropped: sending
        it again could never help."""
        try:
            answer = client.report([r for _, r in batch])
        except Refused as refusal:
            if refusal.status == 401:
                raise
            if len(batch) > 1:
                for one in batch:
                    self._deliver(client, [one])
                return
            logger.error("report %s refused for good: %s", batch[0][1].report_id, refusal)
            self.outbox.remove([batch[0][0]])
            return
        done = set(answer.get("acked", [])) | set(answer.get("rejected", []))
        for _, item in batch:
            if item.report_id in answer.get("rejected", []):
                logger.error("the controller rejected report %s", item.report_id)
        self.outbox.remove([path for path, item in batch if item.report_id in done])
