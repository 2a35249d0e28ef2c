"""How a task ended, as the agent reports it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Outcome:
    status: str
    exit_code: int | None = None
    error_code: str = ""
    error_info: str = ""
    dropped: int = 0  # bytes of output cut from between the streamed head and the tail
    started: float | None = None  # None: the script never ran
    tail: bytes = b""  # the output's last bytes, not streamed: the final report carries them


INTERRUPTED = "The agent stopped while the command ran"  # ExecutionInterrupted's info


def invalid(code: str, info: str) -> Outcome:
    return Outcome(status="Invalid", error_code=code, error_info=info)
