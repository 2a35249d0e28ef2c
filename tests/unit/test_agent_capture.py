"""agentd's output window: which bytes are streamed, held for the final report, or counted."""

from __future__ import annotations

import random

import pytest

from agentd.capture import Window


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 149, 150, 151, 10_000])
def test_head_tail_and_dropped_are_exact_whatever_the_reads(size: int) -> None:
    whole = bytes(random.randrange(256) for _ in range(size))
    window, streamed, at = Window(stream=100, keep=50), bytearray(), 0
    while at < size:  # reads of any size, as a pipe gives them
        step = random.randint(1, 70)
        streamed += window.take(whole[at : at + step])
        at += step
    assert bytes(streamed) == whole[:100]
    assert window.tail == whole[100:][-50:]
    assert window.dropped == max(0, size - 150)
    assert len(streamed) + len(window.tail) + window.dropped == size
