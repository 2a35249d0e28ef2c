"""The agent's state directory: who it is, where its controller is, what it still owes.

STATE_DIR/agent.json   {"servers", "server", "instance_id", "instance_name"}
STATE_DIR/secret       the per-instance secret (0600)
STATE_DIR/outbox/      reports not yet acknowledged by the controller
STATE_DIR/ledger/      one entry per run started, so a redelivered run never runs twice
STATE_DIR/work/        script files of running tasks
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


def default_state_dir() -> Path:
    """$AGENTD_STATE_DIR, else /var/lib/agentd for root, else ~/.local/state/agentd."""
    if explicit := os.environ.get("AGENTD_STATE_DIR"):
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/var/lib/agentd")
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "agentd"


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, atomically and durably."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Identity:
    servers: tuple[str, ...]  # the controllers of its fleet, in the order `agentd run` tries them
    instance_id: str
    instance_name: str
    secret: str

    @property
    def server(self) -> str:
        """The first controller."""
        return self.servers[0]

    def save(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(state_dir / "secret", self.secret.encode())
        # "server" too: an older agentd, run on this state directory, reads that one.
        public: dict[str, object] = {"servers": list(self.servers), "server": self.server}
        public["instance_id"] = self.instance_id
        public["instance_name"] = self.instance_name
        write_private(state_dir / "agent.json", json.dumps(public, indent=2).encode())

    @classmethod
    def load(cls, state_dir: Path) -> Identity:
        """:raises FileNotFoundError: when the agent has not registered yet."""
        public = json.loads((state_dir / "agent.json").read_text())
        secret = (state_dir / "secret").read_text().strip()
        # A state file written before several servers were kept names one, as "server".
        servers = tuple(public.get("servers") or [public["server"]])
        return cls(servers, public["instance_id"], public["instance_name"], secret)
