"""The 2017 shape of DescribeInvocationResults, for scripts written against it.

Cloud Assistant's first API answered each per-instance record under
`Invocation.ResultLists.ResultItem`, with fewer fields; scripts of that time (the seed README's
among them) read `Output` there. With `--legacy-result-lists` the controller answers that list
too, beside today's `Invocation.InvocationResults.InvocationResult`. It is off by default: it is
a second copy of every record's Output (up to 24 KB each, 50 records a page), which every other
client would download for nothing.
"""

from __future__ import annotations

from typing import Any

ACTION = "DescribeInvocationResults"
FIELDS = (
    "CommandId",
    "InvokeId",
    "InstanceId",
    "InvokeRecordStatus",
    "ExitCode",
    "Output",
    "FinishedTime",
)


def add_result_lists(result: dict[str, Any]) -> None:
    """Add `Invocation.ResultLists.ResultItem` to a DescribeInvocationResults answer."""
    invocation = result["Invocation"]
    records = invocation["InvocationResults"]["InvocationResult"]
    invocation["ResultLists"] = {"ResultItem": [{k: r[k] for k in FIELDS} for r in records]}
