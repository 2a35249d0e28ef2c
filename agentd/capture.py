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
import select
import threading
import time
from collections.abc import Callable

from assistcli.api.agent import OUTPUT_HEAD, OUTPUT_LIMIT

CHUNK_INTERVAL = 1.0  # seconds between streamed output reports while output keeps coming
QUIET_DELAY = 0.02  # seconds to gather the rest of a burst after the first bytes of a quiet spell


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
    """Reads a pipe to its end, emitting the streamed part (see `Window`) in chunks of at most
    OUTPUT_LIMIT bytes: a full chunk at once; otherwise QUIET_DELAY after the first bytes since
    the last chunk, so a line written after a quiet spell reaches followers at once, but no
    sooner than CHUNK_INTERVAL after the last chunk, so steady output costs a report a second.

    The reading thread (`pump`) sends the chunks itself, waiting on the pipe (select) for no
    longer than the next one is due."""

    def __init__(self, pipe: object, emit: Callable[[bytes], None], window: Window) -> None:
        self._fd = pipe.fileno()  # type: ignore[attr-defined]
        self._emit = emit
        self.window = window
        self._pending = bytearray()
        self._due = 0.0  # when the pending bytes are to be sent (monotonic)
        self._lock = threading.Lock()  # the buffer
        self._emitting = threading.Lock()  # one flush at a time: chunks keep their order
        self._last_emit = time.monotonic() - CHUNK_INTERVAL  # the first bytes go at once
        self._closed = False

    def pump(self) -> None:
        while True:
            wait = self._until_due()
            if wait == 0.0:
                self.flush()
                continue
            if not select.select([self._fd], [], [], wait)[0]:
                continue  # the pending bytes are due
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return
            with self._lock:
                if self._closed:
                    return
                if not self._pending:
                    now = time.monotonic()
                    self._due = max(now + QUIET_DELAY, self._last_emit + CHUNK_INTERVAL)
                self._pending += self.window.take(chunk)
                full = len(self._pending) >= OUTPUT_LIMIT
            if full:  # sent now, while the script waits on the pipe: memory stays bounded
                self.flush()

    def _until_due(self) -> float | None:
        """Seconds until the pending bytes are due (0: now); None when none are pending."""
        with self._lock:
            if self._closed or not self._pending:
                return None
            return max(0.0, self._due - time.monotonic())

    def flush(self) -> None:
        """Emit what was read since the last chunk."""
        with self._emitting:
            self._flush()

    def _flush(self, closing: bool = False) -> bytes:
        """Emit the pending bytes; `closing`, for the last time: returns the tail."""
        with self._lock:
            if self._closed:
                return b""
            self._closed = closing
            data, self._pending = bytes(self._pending), bytearray()
            self._last_emit = time.monotonic()
            tail = self.window.tail if closing else b""
        for start in range(0, len(data), OUTPUT_LIMIT):
            self._emit(data[start : start + OUTPUT_LIMIT])
        return tail

    def close(self) -> bytes:
        """Emit the rest of the streamed part and return the tail; anything read later is
        ignored (the run has been reported)."""
        with self._emitting:
            return self._flush(closing=True)
