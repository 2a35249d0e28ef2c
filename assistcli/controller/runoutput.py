"""What a record shows of its run's output: everything while it fits, then its head and its tail.

Cloud Assistant shows at most 24,576 bytes of a run's output (`Output`) and counts the rest
(`Dropped`). Agents that stream a run's whole output (to a controller that keeps it, see
store/sql_output.py) leave the cut to the controller: each chunk is folded into the record,
which keeps the output's first limit // 2 bytes and its latest ones. Agents that send only a
head and a tail send no more than fits, so folding their chunks cuts nothing.
"""

from __future__ import annotations


def fold(shown: bytes, more: bytes, limit: int) -> tuple[bytes, int]:
    """`shown` (a record's output: all of it, or its head and its tail) followed by `more`, cut
    to `limit` bytes: the first limit // 2 and the last ones. Returns it and the bytes cut."""
    joined = shown + more
    if len(joined) <= limit:
        return joined, 0
    head = limit // 2
    kept = joined[:head] + joined[len(joined) - (limit - head) :]
    return kept, len(joined) - limit


def placed(shown: bytes, dropped: int, limit: int) -> list[tuple[int, bytes]]:
    """Where a record's output lies in its run's output, as (offset, bytes): all of it from the
    start while nothing was cut, else its head there and its tail at the end."""
    head = limit // 2
    if not dropped or len(shown) <= head:
        return [(0, shown)]
    return [(0, shown[:head]), (len(shown) + dropped - (len(shown) - head), shown[head:])]
