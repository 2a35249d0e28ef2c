"""Rendering: aliyun's JSON and tables, YAML, text, JMESPath."""

from __future__ import annotations

from typing import Any

import pytest

from assistcli.output import (
    OutputError,
    OutputSpec,
    find_collection,
    parse_output,
    render,
    tabulate,
)

RESPONSE: dict[str, Any] = {
    "RequestId": "R-1",
    "TotalCount": 2,
    "Instances": {
        "Instance": [
            {"InstanceId": "i-12345678912345678123", "Status": "Stopped", "Tags": []},
            {"InstanceId": "i-2", "Status": "Running", "Tags": ["web"]},
        ]
    },
}


def test_json_is_sorted_tab_indented_and_unescaped() -> None:
    expected = '{\n\t"a": {\n\t\t"y": [\n\t\t\ttrue,\n\t\t\tnull\n\t\t],\n\t\t"z": "é<>&"'
    expected += '\n\t},\n\t"b": 1\n}'
    assert render({"b": 1, "a": {"z": "é<>&", "y": [True, None]}}, OutputSpec()) == expected


def test_a_query_prints_compact_json() -> None:
    spec = OutputSpec()
    assert render(RESPONSE, spec, query="Instances.Instance[].InstanceId") == (
        '["i-12345678912345678123","i-2"]'
    )
    assert render(RESPONSE, spec, query="RequestId") == '"R-1"'


def test_text_is_tab_separated() -> None:
    assert render(RESPONSE, OutputSpec(format="text"), query="RequestId") == "R-1"
    lines = render(RESPONSE, OutputSpec(format="text"), query="Instances.Instance").splitlines()
    assert lines == ["i-12345678912345678123\tStopped", "i-2\tRunning", "web"]


def test_yaml() -> None:
    assert render({"b": [1], "a": "x"}, OutputSpec(format="yaml")) == "a: x\nb:\n- 1"
    assert render(RESPONSE, OutputSpec(format="yaml"), query="RequestId") == "R-1"


def test_an_aliyun_table_matches_go_tabwriter() -> None:
    spec = parse_output(["cols=InstanceId,Status", "rows=Instances.Instance[]"])
    assert render(RESPONSE, spec) == (
        "InstanceId             | Status\n"
        "----------             | ------\n"
        "i-12345678912345678123 | Stopped\n"
        "i-2                    | Running"
    )


def test_table_numbers_missing_values_and_the_whole_response_as_one_row() -> None:
    spec = parse_output(["cols=Status,Nope", "rows=Instances.Instance", "num=true"])
    assert render(RESPONSE, spec).splitlines()[2] == "0   | Stopped | <nil>"
    assert render(RESPONSE, parse_output(["cols=TotalCount"])).splitlines()[2] == "2"


def test_rows_that_are_arrays_take_name_index_columns() -> None:
    spec = parse_output(["cols=Id:0,Status:1", "rows=Instances.Instance[].[InstanceId,Status]"])
    assert render(RESPONSE, spec).splitlines()[-1] == "i-2                    | Running"
    with pytest.raises(OutputError, match="name:0"):
        render(RESPONSE, parse_output(["cols=Id", "rows=Instances.Instance[].[InstanceId]"]))


def test_an_automatic_table() -> None:
    assert render(RESPONSE, OutputSpec(format="table")).splitlines()[0] == (
        "InstanceId             | Status"
    )


def test_an_automatic_table_shows_the_preferred_columns_on_one_line_each() -> None:
    results = {
        "Invocation": {
            "InvocationResults": {
                "InvocationResult": [
                    {"InstanceId": "mi-1", "ExitCode": 0, "Output": "line 1\nline 2\n"},
                    {"InstanceId": "mi-2", "ExitCode": 1, "Output": "x" * 100},
                ]
            },
            "TotalCount": 2,
        }
    }
    spec = OutputSpec(format="table", preferred=("InstanceId", "Status", "ExitCode", "Output"))
    assert render(results, spec).splitlines() == [
        "InstanceId | ExitCode | Output",
        "---------- | -------- | ------",
        "mi-1       | 0        | line 1\\nline 2\\n",
        "mi-2       | 1        | " + "x" * 37 + "...",
    ]
    # Rows that have none of them (a --cli-query picked others) show all their fields.
    assert render(RESPONSE, spec).splitlines()[0] == "InstanceId             | Status"
    # An empty list still says what it lists.
    empty = {"Invocation": {"InvocationResults": {"InvocationResult": []}}}
    assert render(empty, spec).splitlines()[0] == "InstanceId | Status | ExitCode | Output"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (["xml"], "unknown output format"),
        (["rows=A"], "cols="),
        (["cols=A", "colour=red"], "unknown --output field"),
        (["cols=A", "rows"], "not key=value"),
    ],
)
def test_bad_output_specs(fields: list[str], message: str) -> None:
    with pytest.raises(OutputError, match=message):
        parse_output(fields)


def test_bad_expressions() -> None:
    with pytest.raises(OutputError, match="jmespath"):
        render(RESPONSE, OutputSpec(), query="[[")
    with pytest.raises(OutputError, match="Need Array Expr"):
        render(RESPONSE, parse_output(["cols=A", "rows=RequestId"]))


def test_find_collection_and_tabulate() -> None:
    assert find_collection(RESPONSE) == ["Instances", "Instance"]
    nested = {"Invocation": {"TotalCount": 1, "InvocationResults": {"InvocationResult": []}}}
    assert find_collection(nested) == ["Invocation", "InvocationResults", "InvocationResult"]
    assert find_collection({"RequestId": "x"}) is None
    assert tabulate(["A"], [["1"]]) == "A\n-\n1"


def test_colour_is_ansi_highlighted_json() -> None:
    coloured = render({"a": 1}, OutputSpec(), color=True)
    assert "\x1b[" in coloured and '"a"' in coloured
