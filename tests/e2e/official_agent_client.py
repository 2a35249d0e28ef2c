"""A client that speaks as Alibaba's agent (aliyun-service 2.2.3.578) does: its register body,
its signed headers, its query strings and its WebSocket. Shapes follow the recorded exchanges in
tests/fixtures/official_agent/ (see docs/official-agent.md)."""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "official_agent"
VERSION = "2.2.3.578"


def fixture(name: str) -> dict[str, Any]:
    """A recorded exchange, by its number or name (`11` or `11-task-list-kickoff-echo`)."""
    (path,) = FIXTURES.glob(f"{name}*.json")
    return dict(json.loads(path.read_text()))


@dataclass
class OfficialAgent:
    base: str  # https://127.0.0.1:PORT
    ca: Path
    machine_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    instance_id: str = ""
    clock_offset_ms: int = 0  # to send skewed timestamps

    def public_key(self) -> str:
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(pem).decode()

    def register(self, activation_id: str, code: str, name: str = "") -> requests.Response:
        body = {  # the order and fields of 01-register.json
            "activationCode": code,
            "machineId": self.machine_id,
            "regionId": "cn-assist",
            "instanceName": name,
            "hostname": "official-agent-test",
            "intranetIp": "<nil>",
            "osVersion": "Linux_#1 SMP Debian_6.1.0",
            "osType": "linux",
            "agentVersion": VERSION,
            "publicKey": self.public_key(),
            "activationId": activation_id,
            "tag": [],
        }
        resp = self.post("/luban/api/instance/register", body=json.dumps(body), signed=False)
        if resp.status_code == 200 and resp.json().get("code") == 200:
            self.instance_id = resp.json()["instanceId"]
        return resp

    def signed_headers(self, *, request_id: str | None = None) -> dict[str, str]:
        stamp = str(int(time.time() * 1000) + self.clock_offset_ms)
        rid = request_id or str(uuid.uuid4())
        signed = (self.instance_id + self.machine_id + stamp + rid).encode()
        sign = self.key.sign(signed, padding.PKCS1v15(), hashes.MD5())
        return {
            "X-Acs-Instance-Id": self.instance_id,
            "X-Acs-Timestamp": stamp,
            "X-Acs-Request-Id": rid,
            "X-Acs-Signature": base64.b64encode(sign).decode(),
        }

    def request(
        self,
        method: str,
        path: str,
        query: str = "",
        body: str | bytes = "",
        *,
        signed: bool = True,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> requests.Response:
        sent = {"User-Agent": f"linux_amd64/{VERSION}", "Content-Type": content_type}
        if signed:
            sent.update(self.signed_headers())
        sent.update(headers or {})
        url = f"{self.base}{path}{'?' + query if query else ''}"
        return requests.request(
            method, url, data=body, headers=sent, verify=str(self.ca), timeout=8
        )

    def post(
        self, path: str, query: str = "", body: str | bytes = "", **kw: Any
    ) -> requests.Response:
        return self.request("POST", path, query, body, **kw)

    def task_list(self, reason: str = "kickoff") -> dict[str, Any]:
        query = f"reason={reason}&currentTime={int(time.time() * 1000)}&offset=0&timeZone=Etc%2FUTC"
        if reason == "startup":
            query = f"reason=startup&cold_start=false&{query.partition('&')[2]}"
        resp = self.post("/luban/api/v1/task/list", query)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def report(self, kind: str, query: str, output: bytes = b"") -> requests.Response:
        resp = self.post(
            f"/luban/api/v1/task/{kind}", query, output, content_type="text/plain; charset=utf-8"
        )
        assert resp.status_code == 200, resp.text
        return resp

    def heart_beat(self, first: bool = False) -> requests.Response:
        now = int(time.time() * 1000)
        query = f"uptime=1000000&timestamp={now}&pid=42&process_uptime=1000&index=0&seq_no=1"
        if first:
            query += f"&virt_type=kvm&os_version=Debian_12&az=unknown&machineid={self.machine_id}"
            query += "&cold_start=false"
        return self.request(
            "GET", "/luban/api/heart-beat", query, content_type="application/x-www-form-urlencoded"
        )

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def notify_socket(self, *, signed: bool = True) -> Any:
        """The agent's WebSocket at /luban/notify_server, opened as the agent opens it (a
        context manager; `signed=False`: without its signed headers)."""
        from websockets.sync.client import connect

        url = self.base.replace("https://", "wss://") + "/luban/notify_server"
        headers = self.signed_headers() if signed else None
        return connect(url, ssl=self.ssl_context(), additional_headers=headers, open_timeout=5)


def file_signature(content_b64: str) -> str:
    return hashlib.md5(content_b64.encode()).hexdigest()
