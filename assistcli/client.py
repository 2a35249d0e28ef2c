"""A signed Cloud Assistant API client: `ApiClient(...).call("DescribeCommands", {...})`.

Requests are signed with signature V1 and sent as the official SDKs send them: POST to `/` with
every parameter in the query string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assistcli.api.actions import API_VERSION, BY_NAME
from assistcli.api.codec import encode
from assistcli.api.signing import sign_v1
from assistcli.errors import ApiError, AssistError


class TransportError(AssistError):
    """The controller could not be reached or did not answer like one."""


class ApiClient:
    def __init__(
        self,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        *,
        region_id: str = "cn-hangzhou",
        timeout: float = 30.0,
    ) -> None:
        self.url = endpoint if "://" in endpoint else f"http://{endpoint}"
        self.url = self.url.rstrip("/") + "/"
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.region_id = region_id
        self.timeout = timeout

    def signed_params(self, action: str, params: Mapping[str, Any]) -> dict[str, str]:
        spec = BY_NAME.get(action)
        if spec is None:
            raise AssistError(f"unknown action {action!r}")
        flat = {"Action": action, "Version": API_VERSION, "RegionId": self.region_id}
        flat.update(encode(spec, params))
        return sign_v1("POST", flat, access_key_id=self.access_key_id, secret=self._secret)

    def call(self, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The response body; an error body raises `ApiError` with its code and status."""
        import requests  # only callers that send pay for importing it

        signed = self.signed_params(action, params or {})
        try:
            response = requests.post(self.url, params=signed, timeout=self.timeout)
        except requests.RequestException as error:
            raise TransportError(f"cannot reach the controller at {self.url}: {error}") from error
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise TransportError(
                f"{self.url} answered HTTP {response.status_code} without a JSON body"
            ) from None
        if response.status_code >= 400:
            raise ApiError(
                str(body.get("Code", "UnknownError")),
                str(body.get("Message", "")),
                status=response.status_code,
                request_id=str(body.get("RequestId", "")),
            )
        return body
