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
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field, fields
from typing import Any

PREFIX = "/agent/v1"
REGISTER, POLL, REPORT = f"{PREFIX}/register", f"{PREFIX}/poll", f"{PREFIX}/report"
INSTANCE_HEADER = "X-Assist-Instance-Id"
MAX_WAIT = 900.0  # seconds a poll may be held open
POLL_WAIT = 600.0  # what agentd asks for: an idle fleet of 10,000 makes 17 polls a second
OUTPUT_LIMIT = 24 * 1024  # bytes of output kept per run; the rest is counted in Dropped

EVENTS = ("started", "output", "finished")
# The interpreter each command type needs; agents report which ones their host has.
INTERPRETERS = {"RunShellScript": "sh", "RunPowerShellScript": "powershell", "RunBatScript": "cmd"}
# Per-instance outcomes an agent may report for a run.
FINAL_STATUSES = ("Success", "Failed", "Invalid", "Timeout", "Error", "Terminated")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


@dataclass(slots=True, kw_only=True)
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
        known = {f.name for f in fields(cls)}
        facts = cls(**{k: v for k, v in data.items() if k in known})
        facts.interpreters = [str(i) for i in facts.interpreters if isinstance(i, str)]
        return facts


@dataclass(slots=True, kw_only=True)
class FileTask:
    name: str
    target_dir: str
    content: bytes
    mode: str = "0644"
    owner: str = "root"
    group: str = "root"
    overwrite: bool = False


@dataclass(slots=True, kw_only=True)
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


@dataclass(slots=True, kw_only=True)
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
    def from_wire(cls, data: dict[str, Any]) -> Report:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["output"] = unb64(values.get("output", ""))
        return cls(**values)
