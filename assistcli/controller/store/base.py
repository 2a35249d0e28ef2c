"""The Store contract. Its docstrings are the specification every backend must meet.

Every method is atomic and durable: when it returns, the change is committed. Times (`now`) are
always passed in, so callers and tests own the clock. A method that cannot write because the disk
is full raises `StoreFull`, having written nothing of its call.

Isolation. Several controllers may share one store, each with its own connections, and call any
method at the same moment. A backend may run its transactions at READ COMMITTED (PostgreSQL's
default), where each statement sees what was committed before it began: so no method may read a
row, decide, and write the row back on the strength of that read alone. Each method's docstring
says what it must not lose; the means are these, and a backend needs nothing stronger:

- Conditional write: an UPDATE whose WHERE repeats what the decision was made on (the status,
  the lease, the record's version), so that a row another caller changed meanwhile is left alone
  (the database evaluates the WHERE again on the row's newest committed version). The row count
  says whether the write happened; what follows from it is done only if it did.
- Lock, then read: a read that locks the rows it reads (`db.LOCK`: PostgreSQL's FOR NO KEY
  UPDATE, which a foreign-key check of a new child row does not wait for) holds them until the
  commit, and a read after it sees every change committed before the lock was granted.
  Invocations are locked in invoke id order, so that two callers do not each wait for the other;
  a deadlock the database breaks fails one call, which its caller repeats (an agent resends its
  reports, a reaper runs again).
- A unique key: an INSERT that finds its key taken does nothing (fires, ClientTokens, nonces).

An invocation's status derives from its records. Every method that changes records refreshes
it after locking the invocation's row and then reading its records' statuses (lock, then read):
of two callers that each end one record of an invocation at once, the second to lock sees both
endings, so the invocation does not stay Running.

A record's version is (run, status, report_seq, lease_until): every change of a record that a
decision depends on changes one of them. Reads that answer the API need no more than READ
COMMITTED; a concurrent write may show in one list and not yet in the next.
"""

from __future__ import annotations

import abc
import contextvars
from collections.abc import Sequence

from assistcli.api.agent import Report
from assistcli.controller.models import (
    AccessKey,
    Activation,
    AgentKey,
    Command,
    CommandFilter,
    Delivery,
    Fire,
    Heartbeat,
    Instance,
    InstanceFilter,
    InstanceStats,
    Invocation,
    InvocationFilter,
    Page,
    PageRequest,
    Result,
    ResultFilter,
    RunReport,
    Tag,
    Target,
    TokenClaim,
    TokenResult,
)

# Whether this call is made for an API client, who waits for it, rather than for an agent: a
# backend that queues calls (postgres.py) serves these on threads of their own.
INTERACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("interactive", default=False)


class StoreFull(Exception):
    """The store's disk is full: the call wrote nothing. Calls succeed again once space is freed."""


class StoreUnavailable(Exception):
    """The store's database cannot be reached; the call's change is not known to be committed.
    Calls succeed again once it is back."""


class Store(abc.ABC):
    """Persistence for access keys, commands, invocations, per-instance records and instances."""

    # Lifecycle -----------------------------------------------------------------------------
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and apply pending schema migrations, in order, each exactly once."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; pending work is already committed."""

    @abc.abstractmethod
    async def check_writable(self, now: float) -> None:
        """Commit a tiny write, as every other write would, or raise why it cannot (StoreFull
        when the disk is full). For health checks."""

    # Authentication ---------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_access_key(self, access_key_id: str, secret: str, now: float) -> None:
        """Store an API key pair. Signatures are HMACs, so the secret itself must be kept."""

    @abc.abstractmethod
    async def get_access_key(self, access_key_id: str) -> AccessKey | None:
        """The key, enabled or not, or None when it is unknown (or was deleted). Nothing of it
        is cached by callers: disabling or deleting a key takes effect at the next request."""

    @abc.abstractmethod
    async def list_access_keys(self) -> list[AccessKey]:
        """Every key, oldest first."""

    @abc.abstractmethod
    async def set_access_key_enabled(self, access_key_id: str, enabled: bool) -> bool:
        """Enable or disable a key; False if it does not exist."""

    @abc.abstractmethod
    async def delete_access_key(self, access_key_id: str) -> bool:
        """Forget a key for good; False if it did not exist."""

    @abc.abstractmethod
    async def record_access_key_use(self, access_key_id: str, now: float) -> None:
        """Record that the key signed a request at `now` (callers do so at most once a minute
        per key: it is shown to people, not used to decide anything)."""

    @abc.abstractmethod
    async def use_nonce(self, nonce: str, now: float, keep_for: float) -> bool:
        """Record a signature nonce. False if it was already recorded less than `keep_for`
        seconds ago (a replay); older records may be forgotten.

        Isolation: one conditional insert-or-update keyed by the nonce, so of two requests
        carrying the same nonce at once, on two controllers, exactly one gets True."""

    # Idempotency ------------------------------------------------------------------------------
    @abc.abstractmethod
    async def claim_token(
        self, scope: str, token: str, fingerprint: str, now: float, stale_after: float, keep: float
    ) -> TokenClaim:
        """Claim ClientToken `token` within `scope` (the action name).

        A new token is recorded as in progress and returns `fresh=True` with its `claimed_at`
        (`now`). A known one returns `fresh=False` with the fingerprint it was first claimed with
        and, once finished, its stored result (None while the first request is still running).
        An unfinished claim older than `stale_after` seconds belongs to a request that died (its
        writes carry its result, so it wrote nothing): it is taken over, fresh, with any
        fingerprint. Claims older than `keep` seconds may be forgotten.

        Isolation: one conditional insert-or-update keyed by (scope, token): of two concurrent
        claims exactly one is fresh."""

    @abc.abstractmethod
    async def finish_token(self, finished: TokenResult) -> bool:
        """Store the JSON result of the request that claimed the token, unless it is stored
        already or the claim was taken over (then False).

        Isolation: one write, conditional on the claim's time and on no result yet."""

    @abc.abstractmethod
    async def release_token(self, scope: str, token: str) -> None:
        """Forget a claim whose request failed, so a corrected retry can run."""

    # Commands -----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def insert_command(self, command: Command, finished: TokenResult | None = None) -> None:
        """Insert a command and its tags. With `finished`, store that ClientToken result in the
        same transaction, or write nothing and raise ApiError IdempotentProcessing if its claim
        was taken over (see finish_token)."""

    @abc.abstractmethod
    async def get_command(self, command_id: str) -> Command | None:
        """The command with its tags, or None."""

    @abc.abstractmethod
    async def update_command(self, command: Command) -> None:
        """Overwrite the mutable fields (name, description, working dir, timeout, launcher)."""

    @abc.abstractmethod
    async def delete_command(self, command_id: str) -> bool:
        """Delete a command and its tags; False if it did not exist. Invocations keep their
        own copy of what they ran."""

    @abc.abstractmethod
    async def count_commands(self) -> int: ...

    @abc.abstractmethod
    async def list_commands(self, where: CommandFilter, page: PageRequest) -> Page[Command]:
        """Commands matching every given filter, newest first. `*` in name and description
        filters matches any text."""

    # Instances ------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_instance(self, instance: Instance) -> None: ...

    @abc.abstractmethod
    async def instances_tagged(self, tags: Sequence[Tag]) -> list[str]:
        """Registered instances that carry every tag in `tags`."""

    # Invocations ----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def insert_invocation(
        self,
        invocation: Invocation,
        command: Command | None = None,
        finished: TokenResult | None = None,
    ) -> None:
        """Insert an invocation, its per-instance targets, tags and file (SendFile), and count
        one more use of its command (if the command still exists); with `command`, insert that
        command first (RunCommand's KeepCommand). `finished` as for insert_command."""

    @abc.abstractmethod
    async def get_invocation(self, invoke_id: str) -> Invocation | None:
        """The invocation with its targets and tags, or None."""

    @abc.abstractmethod
    async def list_invocations(
        self, where: InvocationFilter, page: PageRequest
    ) -> Page[Invocation]:
        """Invocations (with targets and tags) matching every filter, newest first."""

    @abc.abstractmethod
    async def list_results(self, where: ResultFilter, page: PageRequest) -> Page[Result]:
        """Per-instance records matching every filter, newest invocation first."""

    @abc.abstractmethod
    async def stop_targets(self, invoke_id: str, instance_ids: Sequence[str], now: float) -> None:
        """Stop the invocation on `instance_ids` (all when empty): records not yet started become
        Cancelled, running ones Stopping; finished ones are left alone. Sets StopTime.

        Isolation: each change is conditional on the record's status (Pending -> Cancelled,
        Running -> Stopping), so a record that started or ended meanwhile is judged by its new
        status; the invocation's status is refreshed as the module docstring says."""

    @abc.abstractmethod
    async def abort_undelivered(
        self, queued_before: float, now: float, connected_since: float
    ) -> int:
        """Records still Pending since before `queued_before` (their creation, or the fire that
        queued a periodic run) and not under a valid delivery lease end Aborted with ErrorCode
        DeliveryTimeout; a periodic record then waits for its next fire. A record already
        delivered to an instance whose agent polled since `connected_since` is left alone: its
        agent holds it, or gets it again at its next poll. Returns how many.

        Isolation: a reaper, run by every controller. Each record ends only if its version is
        still what was read (see the module docstring): a record that was started, reported,
        leased or ended meanwhile is left alone, and its history row and its invocation's status
        are written only for the records that ended here. Whether the agent polled is read once;
        a delivery it races with ends Aborted, and the agent's first report of it replaces that
        ending (see apply_reports)."""

    @abc.abstractmethod
    async def abandon_silent_runs(self, now: float, silent_for: float) -> int:
        """Records still running (or stopping) past their invocation's Timeout plus `silent_for`,
        on an instance whose agent has not polled for `silent_for` seconds, end Error with
        ErrorCode ClientNotResponse: a machine that never comes back leaves nothing Running
        forever. Returns how many.

        Isolation: as abort_undelivered; a report applied meanwhile (a finish, say) stands."""

    @abc.abstractmethod
    async def get_instance(self, instance_id: str) -> Instance | None:
        """The instance with its tags, or None (also after it was deregistered)."""

    @abc.abstractmethod
    async def list_instances(self, where: InstanceFilter, page: PageRequest) -> Page[Instance]:
        """Instances matching every filter, oldest registration first."""

    @abc.abstractmethod
    async def instance_stats(self, instance_ids: Sequence[str]) -> dict[str, InstanceStats]:
        """How many invocations each instance had and when the last one was created."""

    @abc.abstractmethod
    async def rename_instance(self, instance_id: str, name: str) -> bool:
        """False if the instance does not exist."""

    @abc.abstractmethod
    async def deregister_instance(self, instance_id: str, now: float) -> Instance | None:
        """Remove an instance (its records stay), count it on its activation and append it to
        the deregistration feed; returns what was removed, or None if it did not exist. Its
        records that have not ended end with ErrorCode InstanceReleased: Terminated if they
        ran, Aborted otherwise, and schedules fire no more.

        Isolation: the instance's row is deleted first, and only the call that deleted it goes
        on: of two concurrent deregistrations one counts it and feeds it, the other returns
        None. Its records are locked before they are read (lock, then read), so a report
        applied concurrently either lands first, and is judged here, or finds them ended."""

    @abc.abstractmethod
    async def deregistrations(self, after: int | None) -> tuple[list[str], int]:
        """The instances deregistered since position `after` of the feed deregister_instance
        appends to, oldest first, and the feed's position now (with `after` None: none, just
        the position). Every controller sharing the store follows the feed, so that what it
        remembers of those instances' agents is dropped whoever deregistered them. Entries
        older than a day may be forgotten."""

    @abc.abstractmethod
    async def controller_seen(self, controller_id: str, applied: int | None, now: float) -> None:
        """Record that a running controller has applied the feed up to position `applied`, or,
        with None, that it stopped."""

    @abc.abstractmethod
    async def controllers_behind(self, position: int, seen_since: float) -> list[str]:
        """The controllers seen since `seen_since` that have not applied the feed up to
        `position` yet."""

    @abc.abstractmethod
    async def record_heartbeats(self, beats: Sequence[Heartbeat]) -> None:
        """Record that each instance's agent polled at the beat's time (LastHeartbeatTime), how
        many tasks it runs and, where given, what it says of its host (agent version, OS, host
        name, boot id, time zone, interpreters). Beats of unknown instances change nothing."""

    # Activations ----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def insert_activation(
        self, activation: Activation, finished: TokenResult | None = None
    ) -> None:
        """Insert an activation and its tags. `finished` as for insert_command."""

    @abc.abstractmethod
    async def get_activation(self, activation_id: str) -> Activation | None: ...

    @abc.abstractmethod
    async def list_activations(
        self,
        activation_id: str | None,
        instance_name: str | None,
        resource_group_id: str | None,
        tags: Sequence[Tag],
        page: PageRequest,
    ) -> Page[Activation]:
        """Activations matching every given filter, newest first."""

    @abc.abstractmethod
    async def disable_activation(self, activation_id: str) -> None: ...

    @abc.abstractmethod
    async def delete_activation(self, activation_id: str) -> None: ...

    @abc.abstractmethod
    async def register_instance(self, instance: Instance, prefix: str | None = None) -> bool:
        """Insert an instance registered through its activation and count it there, unless the
        activation has already registered its InstanceCount (then False, nothing written).
        With `prefix`, the instance is named `<prefix>-<n>`, n its number within the activation
        zero-padded to the digits of InstanceCount, fixed in the same transaction.

        Isolation: the count is a conditional increment (below InstanceCount), which locks the
        activation's row until the commit: concurrent registrations never pass the count and
        never share a number."""

    # Delivery -------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def claim_deliveries(
        self, instance_id: str, now: float, lease: float, limit: int, holding: Sequence[str]
    ) -> list[Delivery]:
        """Lease up to `limit` Pending records of the instance, oldest first: those never
        delivered, those whose lease expired unacknowledged, and those leased but not among the
        invoke ids its agent says it `holding` (the answer that carried them was lost: the
        agent lists every task it was given until it reports it started). A record is never
        handed out twice while its lease holds and its agent holds it.

        Isolation: two polls of one instance may be served by two controllers at once (an agent
        that reconnected). Each lease is a conditional write repeating the selection (Pending,
        and unleased, expired or not held), so of two concurrent claims of a record exactly one
        delivers it; the other skips it. A backend may instead skip rows another claim holds
        locked (SKIP LOCKED)."""

    @abc.abstractmethod
    async def instances_with_news(self) -> list[str]:
        """The instances with records a poll would act on, whatever their agents were told:
        Pending ones not yet delivered (this run), and Stopping ones. Each controller asks every
        second or so, so that a lost wake-up (see broker.py) delays a delivery or a stop by that
        much, never past the delivery timeout; it must stay cheap however many records are in
        other states. (A delivered record whose answer was lost needs no wake-up: its agent's
        next poll does not list it, and the poll looks; see notifier.py.)"""

    @abc.abstractmethod
    async def records_to_cancel(self, instance_id: str, invoke_ids: Sequence[str]) -> list[str]:
        """Of the instance's records the agent says are running, those that should not be:
        stopping, or already ended."""

    @abc.abstractmethod
    async def apply_reports(
        self,
        instance_id: str,
        reports: Sequence[Report],
        now: float,
        output_limit: int,
        output_cap: int = 0,
    ) -> set[str]:
        """Apply an agent's reports in order, exactly once each: a report whose sequence is at or
        below the record's last applied one is a replay and ignored. A record that already ended
        keeps its outcome. Reports naming an invocation the instance has no record of are not
        applied; their invoke ids are returned.

        Output is folded into the record (runoutput.fold): all of it while it fits in
        `output_limit` bytes, then its first output_limit // 2 bytes and its last ones, the bytes
        cut added to Dropped, and a finished report's `dropped` too. Once a run's output no
        longer fits, all of it, from its first byte, is also kept beside the record up to
        `output_cap` bytes, for read_output.

        Isolation: the same batch may reach two controllers at once (an agent that retried), and
        a reaper may end a record while it is read. The instance's records named in the batch are
        locked before they are read (lock, then read), so the last applied sequence, the status
        and the output are those of the latest commit: each report is applied exactly once, its
        output folded once, and an ending written meanwhile is judged as ended. The
        invocations' statuses are refreshed as the module docstring says."""

    @abc.abstractmethod
    async def read_output(
        self, invoke_id: str, instance_id: str, run: int, start: int, limit: int
    ) -> tuple[int, bytes] | None:
        """Up to `limit` bytes of a run's output kept beside its record, from offset `start`,
        as (the offset of the first byte returned, the bytes); they are contiguous and the
        first is past `start` only where bytes were purged. None when nothing of the run is
        kept: its record's output is all there is."""

    @abc.abstractmethod
    async def purge_output(self, before: float, limit: int) -> int:
        """Forget up to `limit` chunks of kept output written before `before`; returns how many
        (callers repeat until fewer than `limit` go)."""

    # Alibaba's agent (aliyun-service) ------------------------------------------------------------
    @abc.abstractmethod
    async def register_keyed_instance(
        self, instance: Instance, prefix: str | None, key: AgentKey
    ) -> bool:
        """As register_instance, for an instance running Alibaba's agent: with the key its
        agent signs with, in the same transaction. From then on its periodic records run on
        the agent's own schedule: fires start no run there, its reports do (apply_run_reports).
        Deregistering the instance forgets the key."""

    @abc.abstractmethod
    async def get_agent_key(self, instance_id: str) -> AgentKey | None:
        """The key of a registered instance running Alibaba's agent, else None."""

    @abc.abstractmethod
    async def agent_schedules(self, instance_id: str) -> list[Result]:
        """The instance's Period records neither stopped nor over, oldest first."""

    @abc.abstractmethod
    async def records_to_stop(self, instance_id: str, stopped_since: float) -> list[Result]:
        """The instance's Stopping records, and its Period records stopped at or after
        `stopped_since`, oldest first."""

    @abc.abstractmethod
    async def apply_run_reports(
        self, instance_id: str, reports: Sequence[RunReport], now: float, output_limit: int
    ) -> None:
        """Apply reports of Alibaba's agent as apply_reports does. The first report of a new
        (task, start) starts its run: of a Period record, the record's next run (unless it was
        stopped); else the run it was handed out as. An ending report is applied once however
        often it is repeated; reports of other instances' records change nothing.

        Isolation: as apply_reports; the first report of a (task, start) is recorded under a
        unique key, so of two controllers applying it at once one starts the run and the
        other's call fails on the key, to be repeated when the agent reports again."""

    # Schedules ------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def claim_due(self, now: float, limit: int, lease: float) -> list[Result]:
        """Records whose next periodic fire is at or before `now`, earliest first, claimed for
        `lease` seconds: no other call returns them until record_fires moves their fire on or
        the claim lapses (its controller died), so that several controllers share the due
        records instead of each reading them all.

        Isolation: claimable rows are locked as they are read and skipped when another caller
        holds them (PostgreSQL: FOR NO KEY UPDATE SKIP LOCKED), and each claim is a conditional
        write."""

    @abc.abstractmethod
    async def next_due(self) -> float | None:
        """The earliest moment a record may be claimed to fire (its next fire, or the end of
        another caller's claim on it), or None when nothing is scheduled."""

    @abc.abstractmethod
    async def record_fires(self, fires: Sequence[Fire], now: float) -> list[Fire]:
        """Handle each fire exactly once, keyed by (invocation, instance, fire time): record its
        outcome, move the record's next fire on and, for outcome `run`, start the record's next
        run (Pending, a new run number, a history row), and end the record's claim (claim_due);
        on an instance whose agent schedules
        itself (see register_keyed_instance) the outcome becomes `agent` and no run starts. A
        fire already recorded (after a restart, or by another controller) changes nothing.
        Returns the fires that started a run.

        Isolation: the fire's key is inserted first, and only the insert that added it goes on,
        so any number of controllers may record the same fires at once."""

    @abc.abstractmethod
    async def fire_reboots(self, instance_id: str, boot_id: str, now: float) -> list[str]:
        """Start the waiting NextRebootOnly / EveryReboot records of an instance that reports a
        boot other than the one they were armed in; records armed before the instance reported
        any boot are armed with this one instead. Returns the invoke ids started.

        Isolation: each record is re-armed by a write conditional on the boot it was armed in,
        and only the write that changed it starts a run: two polls reporting the boot at once
        start one."""

    @abc.abstractmethod
    async def run_history(
        self, invoke_id: str, instance_id: str | None, page: PageRequest
    ) -> Page[Result]:
        """Every run of a repeating invocation (optionally on one instance), oldest first."""

    @abc.abstractmethod
    async def modify_invocation(
        self, invocation: Invocation, new_targets: Sequence[Target]
    ) -> None:
        """Store a scheduled invocation's new command, content, parameters and frequency, each
        record's `next_fire`, and add `new_targets`."""

    # Tags -----------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def existing_resources(self, resource_type: str, resource_ids: Sequence[str]) -> set[str]:
        """The subset of `resource_ids` of `resource_type` that exist."""

    @abc.abstractmethod
    async def tag(
        self, resource_type: str, resource_ids: Sequence[str], tags: Sequence[Tag]
    ) -> None:
        """Set tags, replacing the value of keys a resource already has."""

    @abc.abstractmethod
    async def untag(
        self, resource_type: str, resource_ids: Sequence[str], keys: Sequence[str] | None
    ) -> None:
        """Remove the given keys, or every tag when `keys` is None."""

    @abc.abstractmethod
    async def list_tags(
        self,
        resource_type: str,
        resource_ids: Sequence[str],
        tags: Sequence[Tag],
        page: PageRequest,
    ) -> Page[tuple[str, str, str]]:
        """(resource id, key, value) rows of resources of `resource_type`, limited to
        `resource_ids` when given and to resources carrying every tag of `tags`."""

    @abc.abstractmethod
    async def tag_count(self, resource_type: str, resource_id: str) -> int: ...
