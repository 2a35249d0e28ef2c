"""JSON responses, and Alibaba's error body for every failure."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from assistcli.errors import ApiError

JSON_TYPE = "application/json;charset=utf-8"
RECOMMEND = "https://api.aliyun.com/troubleshoot?q={code}&product=Ecs"


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(payload.encode(), status_code=status, media_type=JSON_TYPE)


def error_response(error: ApiError, rid: str, host: str) -> Response:
    body = {
        "RequestId": rid,
        "HostId": host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": RECOMMEND.format(code=error.code),
    }
    return json_response(body, error.status)
