"""What the controller keeps: commands, invocations, their per-instance records, instances.

Times are POSIX seconds (float, UTC); responses format them. Content and output are bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

Tag = tuple[str, str]


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
    status: str
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
    repeat_mode: str = "Once"
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
    status: str = "Pending"
    legacy_status: str = "Running"
    stop_time: float | None = None
    targets: list[Target] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Instance:
    instance_id: str
    instance_name: str
    registration_time: float
    os_type: str = "linux"
    hostname: str = ""


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


@dataclass(slots=True, kw_only=True)
class ResultFilter:
    invoke_id: str | None = None
    instance_id: str | None = None
    command_id: str | None = None
    statuses: tuple[str, ...] | None = None  # current vocabulary
    resource_group_id: str | None = None
    tags: list[Tag] = field(default_factory=list)


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
