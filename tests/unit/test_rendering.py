"""One renderer for JSON and XML answers: the same fields, as Alibaba's gateway writes XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from assistcli.controller.rendering import JSON_TYPE, XML_TYPE, Reply, render

FIELDS = {
    "RequestId": "r-1",
    "TotalCount": 2,
    "Commands": {
        "Command": [
            {"Name": "a<b&c>", "Latest": True, "Timeout": 60, "Tags": {"Tag": []}},
            {"Name": "second", "Latest": False, "Timeout": 0, "Tags": {"Tag": []}},
        ]
    },
    "Instances": [{"InstanceId": "mi-1"}, {"InstanceId": "mi-2"}],
    "Missing": None,
}


def xml_reply(action: str = "DescribeCommands") -> Reply:
    reply = Reply()
    reply.read({"Format": "xml", "Action": action})
    return reply


def test_json_unless_xml_is_asked_for() -> None:
    for asked in ({}, {"Format": "JSON"}, {"Format": "None"}, {"Format": "YAML"}):
        reply = Reply()
        reply.read(asked)
        body, media_type = render(FIELDS, reply, failed=False)
        assert (json.loads(body), media_type) == (FIELDS, JSON_TYPE)


def test_xml_repeats_list_members_under_their_item_name() -> None:
    body, media_type = render(FIELDS, xml_reply(), failed=False)
    assert media_type == XML_TYPE
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?><DescribeCommandsResponse>')
    root = ET.fromstring(body)
    assert [child.tag for child in root] == [
        "RequestId",
        "TotalCount",
        "Commands",
        "Instances",
        "Instances",
        "Missing",
    ]
    commands = root.findall("Commands/Command")
    assert [c.findtext("Name") for c in commands] == ["a<b&c>", "second"]
    assert [c.findtext("Latest") for c in commands] == ["true", "false"]
    assert [c.findtext("Timeout") for c in commands] == ["60", "0"]
    assert root.find("Commands/Command/Tags") is not None  # an empty wrapper stays
    assert [i.findtext("InstanceId") for i in root.findall("Instances")] == ["mi-1", "mi-2"]
    assert root.findtext("Missing") == ""


def test_errors_have_the_error_root() -> None:
    error = {"RequestId": "r", "HostId": "h", "Code": "X", "Message": "m", "Recommend": "u#X"}
    body, _ = render(error, xml_reply(), failed=True)
    root = ET.fromstring(body)
    assert root.tag == "Error" and root.findtext("Code") == "X"
    unknown_action = Reply(format="XML")
    assert ET.fromstring(render(error, unknown_action, failed=False)[0]).tag == "Error"


def test_text_xml_cannot_carry_is_replaced() -> None:
    output = "ok\x00\x1b[0m\ud800 tab\there\n"
    body, _ = render({"Output": output}, xml_reply("X"), failed=False)
    assert ET.fromstring(body).findtext("Output") == "ok\ufffd\ufffd[0m\ufffd tab\there\n"
