"""agentd's output: which bytes are streamed, held for the final report, or counted."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from agentd.capture import Window
from agentd.executor import Execution
from agentd.outcome import Outcome
from assistcli.api.agent import OUTPUT_HEAD, OUTPUT_LIMIT, Task


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


def run_script(script: str, output_cap: int) -> tuple[Outcome, list[bytes]]:
    chunks: list[bytes] = []
    task = Task(invoke_id="t-x", script=script.encode(), output_cap=output_cap)
    outcome = Execution(task, ["sh"]).run(on_start=lambda at: None, emit=chunks.append)
    return outcome, chunks


def test_a_controller_that_keeps_output_gets_it_all_streamed_up_to_its_cap() -> None:
    whole = "".join(f"{n}\n" for n in range(1, 30001)).encode()  # 168,894 bytes
    outcome, chunks = run_script("seq 1 30000", output_cap=100_000)
    assert b"".join(chunks) == whole[:100_000]
    assert max(map(len, chunks)) <= OUTPUT_LIMIT  # each fits in a report
    tail = OUTPUT_LIMIT - OUTPUT_HEAD
    assert (outcome.tail, outcome.dropped) == (whole[-tail:], len(whole) - 100_000 - tail)


def timed_chunks(script: str) -> list[tuple[float, bytes]]:
    """The chunks a script's run emits, each with when it was emitted (from the start)."""
    chunks: list[tuple[float, bytes]] = []
    start = time.monotonic()
    task = Task(invoke_id="t-x", script=script.encode())
    emit = lambda data: chunks.append((time.monotonic() - start, data))  # noqa: E731
    Execution(task, ["sh"]).run(on_start=lambda at: None, emit=emit)
    return chunks


def test_a_line_after_a_quiet_spell_is_sent_at_once() -> None:
    chunks = timed_chunks("echo a; sleep 1.5; echo b; sleep 1")
    assert [data for _, data in chunks] == [b"a\n", b"b\n"]
    assert chunks[0][0] < 0.5, "the first line, not a second later"
    assert 1.5 <= chunks[1][0] < 2.0, "the line after a quiet spell, not at the run's end"


def test_steady_output_is_sent_a_chunk_a_second() -> None:
    chunks = timed_chunks("for i in $(seq 50); do echo $i; sleep 0.05; done")
    assert b"".join(data for _, data in chunks) == "".join(f"{n}\n" for n in range(1, 51)).encode()
    sent = [at for at, _ in chunks[:-1]]  # the last one comes with the run's end
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert all(gap >= 0.95 for gap in gaps), gaps
    assert len(chunks) <= 5
