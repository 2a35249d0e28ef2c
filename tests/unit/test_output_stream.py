"""The output stream's frames, read in pieces of any size, and how the CLI prints and judges
what they carry."""

from __future__ import annotations

import io
import random

import pytest

from assistcli.api.outputstream import (
    KEEPALIVE,
    FrameError,
    FrameReader,
    Instances,
    Output,
    State,
    instances_frame,
    output_frame,
    state_frame,
)
from assistcli.cli.follow import Ended, Writer, ended, summary_line
from assistcli.controller.runoutput import fold, placed

FRAMES = [
    Instances(["mi-1", "mi-2"]),
    Output("mi-1", 0, b"line\nwith O 3 4\n bytes \x00\xff\n"),
    State("mi-1", {"InvocationStatus": "Running", "Ended": False}),
    Output("mi-2", 7, b""),
    State("mi-2", {"InvocationStatus": "Success", "ExitCode": 0, "Ended": True}),
]


def encoded(frame: object) -> bytes:
    if isinstance(frame, Instances):
        return instances_frame(frame.instance_ids)
    if isinstance(frame, Output):
        return output_frame(frame.instance_id, frame.offset, frame.data)
    assert isinstance(frame, State)
    return state_frame(frame.instance_id, frame.fields)


def test_frames_survive_any_split_and_keepalives_are_skipped() -> None:
    stream = KEEPALIVE.join(encoded(frame) for frame in FRAMES) + KEEPALIVE
    for _ in range(50):
        reader, found, at = FrameReader(), [], 0
        while at < len(stream):
            step = random.randint(1, 9)
            found += reader.feed(stream[at : at + step])
            at += step
        assert found == FRAMES and not reader.pending()


def test_what_is_not_a_frame_is_refused() -> None:
    with pytest.raises(FrameError):
        FrameReader().feed(b'{"Code": "InternalError"}\n')
    with pytest.raises(FrameError):
        FrameReader().feed(b"O mi-1 x 3\nabc")


def test_a_frame_cut_short_is_pending() -> None:
    reader = FrameReader()
    assert reader.feed(b"O mi-1 0 10\nabc") == [] and reader.pending()


def test_a_record_shows_its_head_and_tail_and_knows_where_they_lie() -> None:
    shown, cut = fold(b"abcdefgh", b"ijklmnop", 10)
    assert (shown, cut) == (b"abcdelmnop", 6)
    assert placed(shown, cut, 10) == [(0, b"abcde"), (11, b"lmnop")]
    assert placed(b"abc", 0, 10) == [(0, b"abc")]
    assert placed(b"abc", 4, 10) == [(0, b"abc")]  # bytes lost, none cut: where is unknown


def test_one_instance_is_written_raw_and_several_line_by_line() -> None:
    raw = Writer(io.BytesIO(), prefixed=False)
    raw.output(Output("mi-1", 0, b"a\nb"))
    raw.end("mi-1")
    assert raw.out.getvalue() == b"a\nb"  # type: ignore[attr-defined]
    lines = Writer(io.BytesIO(), prefixed=True)
    lines.output(Output("mi-1", 0, b"a\nb"))
    lines.output(Output("mi-2", 0, b"x\n"))
    lines.output(Output("mi-1", 3, b"c\nd"))
    lines.end("mi-1")
    assert lines.out.getvalue() == b"mi-1: a\nmi-2: x\nmi-1: bc\nmi-1: d\n"  # type: ignore[attr-defined]


def test_a_gap_is_noted_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    writer = Writer(io.BytesIO(), prefixed=False)
    writer.output(Output("mi-1", 0, b"abc"))
    writer.output(Output("mi-1", 10, b"xyz"))
    assert writer.out.getvalue() == b"abcxyz"  # type: ignore[attr-defined]
    assert "mi-1: 7 bytes of output were not kept" in capsys.readouterr().err


def test_exit_codes_and_the_progress_line() -> None:
    states = {
        "mi-1": {"InvocationStatus": "Success", "Ended": True},
        "mi-2": {"InvocationStatus": "Failed", "Ended": True},
        "mi-3": {"InvocationStatus": "Running", "Ended": False},
        "mi-4": {"InvocationStatus": "Pending", "Ended": False},
        "mi-5": {},
    }
    assert [ended(state) for state in states.values()] == [
        Ended.SUCCESS,
        Ended.FAILED,
        Ended.RUNNING,
        Ended.RUNNING,
        Ended.RUNNING,
    ]
    assert ended({"InvocationStatus": "Terminated", "Ended": True}) == Ended.STOPPED
    assert ended({"InvocationStatus": "Aborted", "Ended": True}) == Ended.NOT_RUN
    assert summary_line(states) == "2 of 5 ended (1 failed), 1 running, 2 waiting"
