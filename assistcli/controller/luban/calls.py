"""One request of Alibaba's agent, as its handlers see it, and how they answer.

The agent reads `code` (a JSON number) and a few named fields of some answers, and only logs
the rest; a refusal says why in `errCode` and `errMsg`, with its HTTP status.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response

from assistcli.controller.context import Context
from assistcli.errors import ApiError

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass(slots=True)
class Call:
    ctx: Context
    request: HTTPConnection  # an HTTP request, or the WebSocket handshake
    query: dict[str, str]
    body: bytes
    instance_id: str = ""  # of a signed request, once its signature is checked

    def number(self, name: str, default: int = 0) -> int:
        """An integer query parameter; a malformed one is the agent's bug, refused."""
        text = self.query.get(name, "")
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            raise refusal(400, "InvalidParameter", f"{name} is not an integer.") from None


Handler = Callable[[Call], Awaitable[Response]]


def answer(fields: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status_code=status, media_type=JSON_TYPE)


def ok(call: Call, **fields: Any) -> Response:
    return answer({"code": 200, "instanceId": call.instance_id, **fields})


def refusal(status: int, code: str, message: str) -> ApiError:
    return ApiError(code, message, status=status)


def refused(error: ApiError) -> Response:
    return answer(
        {"code": error.status, "errCode": error.code, "errMsg": error.message}, error.status
    )
