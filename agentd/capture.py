"""A run's output: read from the script's pipe, split into what is streamed while the script runs
and the tail held for the final report, with what falls between counted.

As Cloud Assistant's own agent does, the output's beginning is streamed while the script runs and
its end travels with the outcome, so a record shows the head and the tail of a long output (the
error at the end of an upgrade) and `Dropped` counts the bytes cut from the middle. A controller
that keeps runs' whole output (Task.output_cap) gets that much streamed instead of the head. The
cut is made on bytes, never on characters: the counts are exact whatever the script writes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from assistcli.api.agent import OUTPUT_HEAD, OUTPUT_LIMIT

CHUNK_INTERVAL = 1.0  # seconds between streamed output reports


class Window:
    """Where each byte goes: the first `stream` bytes are streamed; of those after them, the
    last `keep` are held for the final report and the rest are dropped (counted)."""

    def __init__(self, stream: int = OUTPUT_HEAD, keep: int = OUTPUT_LIMIT - OUTPUT_HEAD) -> None:
        self._room = stream
        self._keep = keep
        self._tail = bytearray()
        self.dropped = 0

    def take(self, data: bytes) -> bytes:
        """The part of `data` to stream; the rest joins the tail, which keeps its last bytes."""
        streamed, rest = data[: self._room], data[self._room :]
        self._room -= len(streamed)
        if rest:
            self._tail += rest
            excess = len(self._tail) - self._keep
            if excess > 0:
                del self._tail[:excess]
                self.dropped += excess
        return streamed

    @property
    def tail(self) -> bytes:
        return bytes(self._tail)


class Capture:
    """Reads a pipe to its end, emitting the streamed part in chunks of at most OUTPUT_LIMIT
    bytes (see `Window`): a full chunk at once, the rest every CHUNK_INTERVAL."""

    def __init__(self, pipe: object, emit: Callable[[bytes], None], window: Window) -> None:
        self._fd = pipe.fileno()  # type: ignore[attr-defined]
        self._emit = emit
        self.window = window
        self._pending = bytearray()
        self._lock = threading.Lock()  # the buffer
        self._emitting = threading.Lock()  # one flush at a time: chunks keep their order
        self._last_emit = time.monotonic()
        self._closed = False

    def pump(self) -> None:
        while chunk := os.read(self._fd, 65536):
            with self._lock:
                if self._closed:
                    return
                self._pending += self.window.take(chunk)
                full = len(self._pending) >= OUTPUT_LIMIT
            if full:  # sent now, while the script waits on the pipe: memory stays bounded
                self.flush()

    def flush(self, *, due_only: bool = False) -> None:
        """Emit what was read since the last chunk (if CHUNK_INTERVAL passed, with due_only)."""
        with self._emitting:
            self._flush(due_only)

    def _flush(self, due_only: bool) -> None:
        with self._lock:
            if self._closed or (due_only and time.monotonic() - self._last_emit < CHUNK_INTERVAL):
                return
            data, self._pending = bytes(self._pending), bytearray()
            self._last_emit = time.monotonic()
        for start in range(0, len(data), OUTPUT_LIMIT):
            self._emit(data[start : start + OUTPUT_LIMIT])

    def close(self) -> bytes:
        """Emit the rest of the streamed part and return the tail; anything read later is
        ignored (the run has been reported)."""
        with self._emitting:
            self._flush(due_only=False)
            with self._lock:
                self._closed = True
                return self.window.tail
