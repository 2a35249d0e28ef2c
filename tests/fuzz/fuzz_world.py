"""Real resources of a controller for fuzzed requests to name, so that they get past the lookups
into the handlers: a command, an activation, a registered instance (with its secret, to speak the
agent protocol as it) and an invocation of a script on that instance.

Fuzzed requests may delete or deregister what they name; `refresh` makes a new set.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import requests
from conftest import REGION, Controller
from rawclient import call, ok_body

from assistcli.api import agent as proto

# Placeholders in generated requests, replaced by the current real ids when sent.
COMMAND, INVOCATION, INSTANCE = "<command>", "<invocation>", "<instance>"
ACTIVATION, ACTIVATION_CODE = "<activation>", "<activation-code>"
FACTS: dict[str, Any] = {
    "hostname": "fuzz-host",
    "os_type": "linux",
    "os_version": "Linux 6.1",
    "machine_id": "0123456789abcdef0123456789abcdef",
    "agent_version": "0.1.0",
    "boot_id": "boot-1",
    "timezone": "UTC",
    "interpreters": ["sh"],
}


@dataclass
class World:
    ctl: Controller
    ids: dict[str, str]
    secret: str = ""

    @classmethod
    def make(cls, ctl: Controller) -> World:
        world = cls(ctl, {})
        world.refresh()
        return world

    def api(self, action: str, **params: str) -> dict[str, object]:
        """A signed call that must succeed."""
        answer = call(
            self.ctl.url,
            self.ctl.access_key_id,
            self.ctl.access_key_secret,
            {"Action": action, "RegionId": REGION, **params},
        )
        return ok_body(answer)

    def agent(self, path: str, body: dict[str, Any], **headers: str) -> requests.Response:
        """An agent request as the world's instance (headers given here replace its own)."""
        sent = {**self.agent_headers(), **headers}
        return requests.post(self.ctl.url.rstrip("/") + path, json=body, headers=sent, timeout=30)

    def agent_headers(self) -> dict[str, str]:
        return {
            proto.INSTANCE_HEADER: self.ids.get(INSTANCE, ""),
            "Authorization": f"Bearer {self.secret}",
        }

    def refresh(self) -> None:
        """A new command, activation, instance and invocation."""
        script = base64.b64encode(b"echo fuzz").decode()
        command = self.api(
            "CreateCommand", Name="fuzz", Type="RunShellScript", CommandContent=script
        )
        self.ids[COMMAND] = str(command["CommandId"])
        activation = self.api("CreateActivation", InstanceCount="1000")
        self.ids[ACTIVATION] = str(activation["ActivationId"])
        self.ids[ACTIVATION_CODE] = str(activation["ActivationCode"])
        registration = {
            **FACTS,
            "activation_id": self.ids[ACTIVATION],
            "activation_code": self.ids[ACTIVATION_CODE],
        }
        resp = requests.post(self.ctl.url.rstrip("/") + proto.REGISTER, json=registration)
        resp.raise_for_status()
        self.ids[INSTANCE], self.secret = resp.json()["instance_id"], resp.json()["secret"]
        self.new_invocation()

    def new_invocation(self) -> None:
        """A one-time run of a script on the instance, for reports to be about."""
        self.agent(proto.POLL, {**FACTS, "wait": 0, "active": []}).raise_for_status()
        run = self.api(
            "RunCommand",
            Type="RunShellScript",
            CommandContent="echo fuzz",
            **{"InstanceId.1": self.ids[INSTANCE]},
        )
        self.ids[INVOCATION] = str(run["InvokeId"])

    def resolve(self, value: str) -> str:
        """`value` with every placeholder replaced by the real id."""
        for placeholder, real in self.ids.items():
            value = value.replace(placeholder, real)
        return value
