"""What the controller keeps: commands, invocations, their per-instance records, instances.

Times are POSIX seconds (float, UTC); responses format them. Content and output are bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from assistcli.api.agent import HostFacts
from assistcli.api.status import InvocationStatus, LegacyStatus, RecordStatus, RepeatMode

Tag = tuple[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessKey:
    """An API key pair. Signatures are HMACs, so the controller keeps the secret itself."""

    access_key_id: str
    secret: str
    enabled: bool
    created_at: float
    last_used: float | None = None  # to the minute: see Store.record_access_key_use


@dataclass(slots=True, kw_only=True)
class Command:
    command_id: str
    name: str
    type: str
    content: bytes
    description: str = ""
    working_dir: str = ""
    timeout: int = 60
    enable_parameter: bool = False
    parameter_names: list[str] = field(default_factory=list)
    launcher: str = ""
    resource_group_id: str = ""
    creation_time: float = 0.0
    invoke_times: int = 0
    tags: list[Tag] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Target:
    """One instance's record of an invocation."""

    invoke_id: str
    instance_id: str
    status: RecordStatus
    creation_time: float
    start_time: float | None = None
    update_time: float | None = None
    finish_time: float | None = None
    stop_time: float | None = None
    exit_code: int | None = None
    output: bytes = b""
    dropped: int = 0
    error_code: str = ""
    error_info: str = ""
    repeats: int = 0
    delivered_at: float | None = None
    lease_until: float | None = None
    run: int = 1  # which run of the invocation this record is about
    report_seq: int = -1  # the last agent report applied to this run
    next_fire: float | None = None  # periodic tasks: when the next run is due
    timezone: str = ""  # the instance's zone, for a cron without one
    boot_id: str = ""  # reboot tasks: the boot the record was armed in
    queued_at: float | None = None  # when the current run became Pending


@dataclass(slots=True, kw_only=True)
class Fire:
    """What the scheduler decided for one due moment of one record."""

    invoke_id: str
    instance_id: str
    due: float  # the record's next fire when it was claimed: firing moves it on from there
    fire_time: float
    next_fire: float | None
    outcome: str  # run | late (missed beyond the grace period) | busy (previous run going)


@dataclass(slots=True, kw_only=True)
class FileSpec:
    """What a SendFile task writes on each instance."""

    name: str
    target_dir: str
    content_type: str = "PlainText"
    file_mode: str = "0644"
    file_owner: str = "root"
    file_group: str = "root"
    overwrite: bool = False


@dataclass(slots=True, kw_only=True)
class Invocation:
    invoke_id: str
    command_id: str
    command_name: str
    command_type: str
    content: bytes
    creation_time: float
    command_description: str = ""
    parameters: dict[str, str] | None = None
    repeat_mode: RepeatMode = RepeatMode.ONCE
    frequency: str = ""
    timeout: int = 60
    username: str = ""
    working_dir: str = ""
    container_id: str = ""
    container_name: str = ""
    launcher: str = ""
    termination_mode: str = ""
    oss_output_delivery: str = ""
    windows_password_name: str = ""
    resource_group_id: str = ""
    status: InvocationStatus = InvocationStatus.PENDING
    legacy_status: LegacyStatus = LegacyStatus.RUNNING
    stop_time: float | None = None
    kind: str = "command"  # or "file" for SendFile tasks
    region_id: str = ""
    targets: list[Target] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    file: FileSpec | None = None


@dataclass(slots=True, kw_only=True)
class Instance:
    instance_id: str
    instance_name: str
    registration_time: float
    os_type: str = "linux"
    hostname: str = ""
    activation_id: str = ""
    machine_id: str = ""
    os_version: str = ""
    intranet_ip: str = ""
    internet_ip: str = ""
    resource_group_id: str = ""
    secret_hash: str = ""
    agent_version: str = ""
    interpreters: list[str] = field(default_factory=list)
    timezone: str = ""
    boot_id: str = ""
    last_heartbeat: float | None = None
    active_task_count: int = 0
    tags: list[Tag] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """An agent's poll, as the store keeps it."""

    instance_id: str
    time: float
    active_tasks: int
    facts: HostFacts | None = None  # what the agent says of its host, when that changed


@dataclass(slots=True, kw_only=True)
class InstanceStats:
    """Derived from the instance's records, for the status and listing actions."""

    invocation_count: int = 0
    last_invoked_time: float | None = None
    active_task_count: int = 0  # records running or stopping now


@dataclass(slots=True, kw_only=True)
class Activation:
    activation_id: str
    code_hash: str
    instance_count: int
    time_to_live_hours: int
    creation_time: float
    description: str = ""
    instance_name: str = ""
    registered_count: int = 0
    deregistered_count: int = 0
    ip_address_range: str = ""
    resource_group_id: str = ""
    disabled: bool = False
    tags: list[Tag] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class InstanceFilter:
    instance_ids: list[str] = field(default_factory=list)
    instance_name: str | None = None
    instance_ip: str | None = None
    activation_id: str | None = None
    os_type: str | None = None
    machine_id: str | None = None
    connected_since: float | None = None  # heartbeat at or after this moment
    disconnected_before: float | None = None  # no heartbeat since this moment
    resource_group_id: str | None = None
    tags: list[Tag] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Delivery:
    """A record handed to its agent, with what it runs."""

    target: Target
    invocation: Invocation
    instance: Instance  # without its tags


T = TypeVar("T")


@dataclass(slots=True, kw_only=True)
class PageRequest:
    offset: int = 0
    limit: int = 10


@dataclass(slots=True, kw_only=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest

    @property
    def has_more(self) -> bool:
        return self.request.offset + len(self.items) < self.total


@dataclass(slots=True, kw_only=True)
class CommandFilter:
    command_id: str | None = None
    name: str | None = None  # may hold * wildcards
    description: str | None = None
    type: str | None = None
    resource_group_id: str | None = None
    tags: list[Tag] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class InvocationFilter:
    invoke_id: str | None = None
    command_id: str | None = None
    command_name: str | None = None
    command_type: str | None = None
    instance_id: str | None = None
    status: str | None = None  # either vocabulary
    repeat_mode: str | None = None
    timed: bool | None = None
    resource_group_id: str | None = None
    tags: list[Tag] = field(default_factory=list)
    kind: str = "command"
    file_name: str | None = None


@dataclass(slots=True, kw_only=True)
class ResultFilter:
    invoke_id: str | None = None
    instance_id: str | None = None
    command_id: str | None = None
    statuses: tuple[str, ...] | None = None  # current vocabulary
    resource_group_id: str | None = None
    tags: list[Tag] = field(default_factory=list)
    kind: str = "command"
    history: bool = False  # one record per run of periodic and every-reboot tasks


@dataclass(slots=True, kw_only=True)
class Result:
    """A per-instance record with the invocation it belongs to."""

    target: Target
    invocation: Invocation


@dataclass(slots=True, kw_only=True)
class TokenClaim:
    """Outcome of claiming a ClientToken: `result` is set when the request already ran."""

    fresh: bool
    fingerprint: str = ""
    result: str | None = None
    claimed_at: float = 0.0  # identifies this claim: a stale one may be taken over


@dataclass(frozen=True, slots=True)
class TokenResult:
    """The result of a ClientToken's request, written in the transaction of its changes: a
    request that dies before that transaction has written nothing, its result included."""

    scope: str
    token: str
    claimed_at: float  # the write fails if the claim was taken over meanwhile
    result: str  # JSON


@dataclass(frozen=True, slots=True)
class AgentKey:
    """What checks the requests of Alibaba's own agent (aliyun-service): it signs each with the
    key it registered, over its machine id, which it sends only at registration."""

    machine_id: str
    public_key: str  # PEM


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """A report of Alibaba's agent. It names the run by the task's version and the run's start
    (ms since the epoch, 0 when nothing started), not by a run number: every run of a
    periodic task, which the agent schedules itself, has the same task id and version."""

    invoke_id: str
    version: int  # the run it was handed out as; 0: the record's current run
    start_ms: int
    event: str  # output | finished
    time: float
    output: bytes = b""
    status: str = ""
    exit_code: int | None = None
    error_code: str = ""
    error_info: str = ""
    dropped: int = 0
