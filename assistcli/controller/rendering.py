"""Answer bodies in the format the request asked for: JSON, or XML as Alibaba's gateway writes it.

One function renders both from the same fields. In XML the root is `<{Action}Response>`
(`<Error>` for an error), each key an element in the fields' order, and a list repeats its own
key: `{"Commands": {"Command": [a, b]}}` is `<Commands><Command>a</Command><Command>b</Command>
</Commands>`, and a plain array (`"Tags": [...]` of DescribeManagedInstances) repeats `<Tags>`.
Booleans are `true`/`false`, as in JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

JSON_TYPE = "application/json;charset=utf-8"
XML_TYPE = "text/xml;charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
# What XML 1.0 cannot carry, even as a character reference: it is answered as U+FFFD.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(slots=True)
class Reply:
    """How a request is answered: XML when its `Format` is XML (in any case), else JSON, the
    default of every SDK (the old core SDK sends `Format=None` when nothing was asked for); and,
    for XML's root element, its `Action`. Set from the request's parameters once they are read;
    until then (a request refused before that) the answer is JSON."""

    format: str = "JSON"
    action: str = ""

    def read(self, params: Mapping[str, str]) -> None:
        if params.get("Format", "").upper() == "XML":
            self.format = "XML"
        self.action = params.get("Action", "")


def render(body: Mapping[str, Any], reply: Reply, *, failed: bool) -> tuple[bytes, str]:
    """The body and its media type; `failed`: `body` is an error body."""
    if reply.format == "XML":
        root = "Error" if failed or not reply.action else f"{reply.action}Response"
        return xml_bytes(body, root), XML_TYPE
    return json_bytes(body), JSON_TYPE


def json_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def xml_bytes(body: Mapping[str, Any], root: str) -> bytes:
    parts = [XML_DECLARATION, f"<{root}>"]
    _elements(body, parts)
    parts.append(f"</{root}>")
    return "".join(parts).encode()


def _elements(fields: Mapping[str, Any], parts: list[str]) -> None:
    for key, value in fields.items():
        for item in value if isinstance(value, list) else (value,):
            parts.append(f"<{key}>")
            if isinstance(item, Mapping):
                _elements(item, parts)
            else:
                parts.append(_text(item))
            parts.append(f"</{key}>")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(NOT_XML.sub("\ufffd", str(value)))
