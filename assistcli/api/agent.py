"""The agent protocol: JSON over HTTP under /agent/v1/, shared by the controller and agentd.

    POST /agent/v1/register  {activation_id, activation_code, instance_name?, host facts}
                             -> {instance_id, instance_name, secret}
    POST /agent/v1/poll      {wait, active: [invoke ids running or queued],
                              settling: [invoke ids run, with reports not yet acknowledged],
                              host facts}
                             -> {tasks: [Task], cancel: [invoke ids to kill]}
    POST /agent/v1/report    {reports: [Report]} -> {acked: [report ids]}

Poll and report carry `X-Assist-Instance-Id` and `Authorization: Bearer <secret>`. A poll is held
open up to `wait` seconds until work arrives, and doubles as the heartbeat: the controller counts
an agent whose poll it holds as connected. An answer that is not ready within the controller's
keep-alive interval is streamed (chunked): a newline every interval, so proxies and NAT see a
live connection, then the JSON (which JSON parsers read past the whitespace). Work is leased:
a task not started before its lease ends is delivered again; the agent's ledger makes sure it
runs once. Reports are numbered per run (`seq` from 0) and applied exactly once.
Binary values (script, file content, output) travel as Base64. Standard library only.

What an agent sends is held to the bounds below when it is read (`from_wire`), by the controller
and by agentd reading its own outbox alike: a field of the wrong type or out of bounds refuses
the whole message. Times are POSIX seconds from 2000-01-01 to a day past the reader's clock.
"""

from __future__ import annotations

import base64
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from assistcli.api import wire
from assistcli.api.status import REPORTABLE

PREFIX = "/agent/v1"
REGISTER, POLL, REPORT = f"{PREFIX}/register", f"{PREFIX}/poll", f"{PREFIX}/report"
INSTANCE_HEADER = "X-Assist-Instance-Id"
MAX_WAIT = 900.0  # seconds a poll may be held open
POLL_WAIT = 600.0  # what agentd asks for: an idle fleet of 10,000 makes 17 polls a second
# Bytes of a run's output its record shows: the first OUTPUT_HEAD and the last ones; what lies
# between is counted in Dropped. agentd streams the head and sends the tail with the outcome.
OUTPUT_LIMIT = 24 * 1024
OUTPUT_HEAD = OUTPUT_LIMIT // 2

EVENTS = ("started", "output", "finished")
# The interpreter each command type needs; agents report which ones their host has.
INTERPRETERS = {"RunShellScript": "sh", "RunPowerShellScript": "powershell", "RunBatScript": "cmd"}
# Per-instance outcomes an agent may report for a run.
FINAL_STATUSES = tuple(status.value for status in REPORTABLE)

# Bounds of what agents send.
EARLIEST = 946684800.0  # 2000-01-01T00:00:00Z: no report is older than this protocol
CLOCK_AHEAD = 86400.0  # how far a report's time may run ahead of its reader's clock
MAX_SEQ = 2**31 - 1  # agentd numbers a run's last report after a crash with this one
MAX_RUN = 2**31 - 1
EXIT_CODES = (-(2**31), 2**32 - 1)  # signed (POSIX) or unsigned (Windows) 32-bit exit codes
MAX_DROPPED = 2**63 - 1
MAX_ID = 64  # characters of an invoke id
MAX_ERROR_CODE = 128
MAX_ERROR_INFO = 16 * 1024  # an exception's text, with a path or two in it
MAX_REPORTS = 1000  # per batch; agentd sends at most 200
MAX_FACT = 255  # characters of a host fact, an instance name, an activation id or code
MAX_INTERPRETERS, MAX_INTERPRETER = 16, 32
MAX_ACTIVE = 10_000  # runs an agent may say it holds
MAX_ASKED_WAIT = 2.0**31  # a poll may ask for longer than MAX_WAIT, and is held MAX_WAIT


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


@dataclass
class HostFacts:
    """What an agent says of its host at registration and with every poll."""

    hostname: str = ""
    os_type: str = "linux"
    os_version: str = ""
    machine_id: str = ""
    agent_version: str = ""
    boot_id: str = ""
    timezone: str = ""
    interpreters: list[str] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> HostFacts:
        """The facts among a message's fields; those left out keep their defaults."""
        facts = cls(
            interpreters=wire.texts(data, "interpreters", MAX_INTERPRETERS, MAX_INTERPRETER)
        )
        for name in _TEXT_FACTS:
            setattr(facts, name, wire.text(data, name, MAX_FACT, getattr(facts, name)))
        return facts


_TEXT_FACTS = [f.name for f in fields(HostFacts) if f.name != "interpreters"]


@dataclass
class Registration:
    """What `register` carries: an activation, the name asked for (or none) and host facts."""

    activation_id: str
    activation_code: str
    instance_name: str = ""
    facts: HostFacts = field(default_factory=HostFacts)

    @classmethod
    def from_wire(cls, data: object) -> Registration:
        body = wire.message(data, "the body")
        return cls(
            activation_id=wire.text(body, "activation_id", MAX_FACT, ""),
            activation_code=wire.text(body, "activation_code", MAX_FACT, ""),
            instance_name=wire.text(body, "instance_name", MAX_FACT, ""),
            facts=HostFacts.from_wire(body),
        )


@dataclass
class Poll:
    """What `poll` carries: how long to wait, the runs the agent holds, and host facts."""

    wait: float = 0.0  # seconds, at most MAX_WAIT
    active: list[str] = field(default_factory=list)
    settling: list[str] = field(default_factory=list)  # run, with reports still in the outbox
    facts: HostFacts = field(default_factory=HostFacts)

    @classmethod
    def from_wire(cls, data: object) -> Poll:
        body = wire.message(data, "the body")
        return cls(
            wait=min(wire.number(body, "wait", 0, MAX_ASKED_WAIT, 0), MAX_WAIT),
            active=wire.texts(body, "active", MAX_ACTIVE, MAX_ID),
            settling=wire.texts(body, "settling", MAX_ACTIVE, MAX_ID),
            facts=HostFacts.from_wire(body),
        )


@dataclass
class FileTask:
    name: str
    target_dir: str
    content: bytes
    mode: str = "0644"
    owner: str = "root"
    group: str = "root"
    overwrite: bool = False


@dataclass
class Task:
    """One run of an invocation on the polling instance."""

    invoke_id: str
    run: int = 1  # a periodic task runs many times; each run is its own
    kind: str = "command"  # or "file"
    command_type: str = "RunShellScript"
    script: bytes = b""  # parameters already substituted
    timeout: int = 60
    working_dir: str = ""
    username: str = ""
    termination_mode: str = "ProcessTree"
    # Runs the script instead of the type's interpreter, `{{ACS::ScriptFileName}}` naming the
    # script file (see agentd/launcher.py); empty: the interpreter. Older agents ignore it.
    launcher: str = ""
    # Bytes of the run's whole output the controller keeps (see docs/agent-protocol.md): the
    # agent streams that many, not just the head. 0: a controller that keeps only what the
    # record shows. Older agents ignore it.
    output_cap: int = 0
    file: FileTask | None = None

    def to_wire(self) -> dict[str, Any]:
        wire = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "file"}
        wire["script"] = b64(self.script)
        if self.file is not None:
            wire["file"] = {**asdict(self.file), "content": b64(self.file.content)}
        return wire

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Task:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["script"] = unb64(values.get("script", ""))
        if data.get("file"):
            spec = dict(data["file"])
            spec["content"] = unb64(spec["content"])
            values["file"] = FileTask(**spec)
        return cls(**values)

    @property
    def key(self) -> str:
        """Names this run: the agent's ledger entry."""
        return f"{self.invoke_id}.{self.run}"


@dataclass
class Report:
    """An event of one run: `started`, `output` (a chunk) or `finished` (the outcome)."""

    invoke_id: str
    seq: int
    event: str
    time: float
    run: int = 1
    output: bytes = b""
    status: str = ""
    exit_code: int | None = None
    error_code: str = ""
    error_info: str = ""
    dropped: int = 0

    @property
    def report_id(self) -> str:
        return f"{self.invoke_id}/{self.run}/{self.seq}"

    def to_wire(self) -> dict[str, Any]:
        return {**asdict(self), "output": b64(self.output)}

    @classmethod
    def from_wire(cls, data: object, now: float | None = None) -> Report:
        """A report held to the protocol's bounds; `now` is the reader's clock (by default,
        this machine's), which a report's time may not pass by more than CLOCK_AHEAD."""
        item = wire.message(data, "a report")
        latest = (time.time() if now is None else now) + CLOCK_AHEAD
        report = cls(
            invoke_id=wire.text(item, "invoke_id", MAX_ID),
            seq=wire.integer(item, "seq", 0, MAX_SEQ),
            event=wire.choice(item, "event", EVENTS),
            time=wire.number(item, "time", EARLIEST, latest),
            run=wire.integer(item, "run", 0, MAX_RUN, 1),
            output=wire.binary(item, "output", OUTPUT_LIMIT, ""),
            status=wire.choice(item, "status", ("", *FINAL_STATUSES), ""),
            exit_code=wire.optional_integer(item, "exit_code", *EXIT_CODES),
            error_code=wire.text(item, "error_code", MAX_ERROR_CODE, ""),
            error_info=wire.text(item, "error_info", MAX_ERROR_INFO, ""),
            dropped=wire.integer(item, "dropped", 0, MAX_DROPPED, 0),
        )
        if report.event == "finished" and not report.status:
            raise wire.WireError("a finished report needs a status")
        return report


def reports_from_wire(data: object, now: float) -> list[Report]:
    """The reports of a `report` body; WireError names the first one out of bounds."""
    batch = wire.items(wire.message(data, "the body"), "reports", MAX_REPORTS)
    reports = []
    for index, item in enumerate(batch):
        try:
            reports.append(Report.from_wire(item, now))
        except wire.WireError as error:
            raise wire.WireError(f"reports[{index}]: {error}") from None
    return reports
