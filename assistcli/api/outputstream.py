"""The output stream: how `GET /assist/v1/output`, an extension of the API, carries runs' output.

Several instances' output, and the moment each of their runs ends, share one stream of frames:

    I <json>\\n                            the instance ids followed: the first frame
    O <instance-id> <offset> <length>\\n   then <length> bytes of the instance's run's output,
                                           from `offset` on (past the last: bytes not kept)
    S <instance-id> <json>\\n              the instance's record now; the frame with
                                           "Ended": true is its last one
    \\n                                    keep-alive, while nothing else is sent

After the `I` frame come each instance's output and `S` frames as things happen; the stream ends
once every instance's run has ended (or, without Follow, after one pass over them). It is
signed like any API call (signature V1 over the query, `Action=StreamInvocationOutput`), and
served at its own path so that the official SDKs never meet it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PATH = "/assist/v1/output"
ACTION = "StreamInvocationOutput"
MEDIA_TYPE = "application/vnd.assist.output"
KEEPALIVE = b"\n"


@dataclass(frozen=True)
class Instances:
    instance_ids: list[str]


@dataclass(frozen=True)
class Output:
    instance_id: str
    offset: int
    data: bytes


@dataclass(frozen=True)
class State:
    instance_id: str
    fields: dict[str, Any]  # InvocationStatus, ExitCode, ErrorCode, ErrorInfo, Dropped, Ended

    @property
    def ended(self) -> bool:
        return bool(self.fields.get("Ended"))


Frame = Instances | Output | State


def instances_frame(instance_ids: list[str]) -> bytes:
    return f"I {json.dumps(instance_ids)}\n".encode()


def output_frame(instance_id: str, offset: int, data: bytes) -> bytes:
    return f"O {instance_id} {offset} {len(data)}\n".encode() + data


def state_frame(instance_id: str, fields: dict[str, Any]) -> bytes:
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return f"S {instance_id} {text}\n".encode()


class FrameError(ValueError):
    """What came is not the output stream."""


class FrameReader:
    """Frames from a stream read in pieces of any size."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while (frame := self._next()) is not None:
            if not isinstance(frame, bytes):  # a keep-alive is skipped
                frames.append(frame)
        return frames

    def pending(self) -> bool:
        """Part of a frame is waiting for the rest (a stream that ends here was cut)."""
        return bool(self._buffer)

    def _next(self) -> Frame | bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            return None
        head = bytes(self._buffer[:end]).decode("utf-8", "replace")
        kind, _, rest = head.partition(" ")
        if kind == "":
            del self._buffer[: end + 1]
            return KEEPALIVE
        if kind in ("S", "I"):
            del self._buffer[: end + 1]
            return _json_frame(kind, rest)
        if kind == "O":
            instance_id, offset, length = _output_head(head)
            if len(self._buffer) < end + 1 + length:
                return None  # its bytes are on their way
            data = bytes(self._buffer[end + 1 : end + 1 + length])
            del self._buffer[: end + 1 + length]
            return Output(instance_id, offset, data)
        raise FrameError(f"not an output stream frame: {head[:80]!r}")


def _output_head(head: str) -> tuple[str, int, int]:
    words = head.split(" ")
    if len(words) != 4 or not words[2].isdigit() or not words[3].isdigit():
        raise FrameError(f"a malformed output frame: {head[:80]!r}")
    return words[1], int(words[2]), int(words[3])


def _json_frame(kind: str, rest: str) -> Instances | State:
    instance_id, _, text = rest.partition(" ") if kind == "S" else ("", "", rest)
    try:
        value = json.loads(text)
    except ValueError:
        raise FrameError(f"a {kind} frame without JSON: {rest[:80]!r}") from None
    if kind == "I" and isinstance(value, list):
        return Instances([str(item) for item in value])
    if kind == "S" and isinstance(value, dict):
        return State(instance_id, value)
    raise FrameError(f"a malformed {kind} frame: {rest[:80]!r}")
