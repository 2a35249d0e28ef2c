"""An agent made of protocol messages, for in-process tests: it registers, polls and reports
exactly when the test says so."""

from __future__ import annotations

import json
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from conftest import api
from inprocess import Answer, InProcessController

from assistcli.api import agent as proto


@dataclass
class ProtocolAgent:
    ctl: InProcessController
    instance_id: str
    secret: str

    @classmethod
    def register(cls, ctl: InProcessController, name: str = "agent") -> ProtocolAgent:
        made = api(ctl).call("CreateActivation", {"InstanceCount": 1, "InstanceName": name})
        body = {"activation_id": made["ActivationId"], "activation_code": made["ActivationCode"]}
        registered = ctl.post(proto.REGISTER, {**body, "hostname": name})
        assert registered.status_code == 200, registered.text
        answer = registered.json()
        return cls(ctl, answer["instance_id"], answer["secret"])

    @property
    def headers(self) -> dict[str, str]:
        return {proto.INSTANCE_HEADER: self.instance_id, "Authorization": f"Bearer {self.secret}"}

    def poll(self, wait: float = 0, active: list[str] | None = None) -> dict[str, Any]:
        answer = self.ctl.post(proto.POLL, self.poll_body(wait, active), self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def hold_poll(self, wait: float) -> Future[Answer]:
        """A poll held open while the test goes on."""
        return self.ctl.submit_post(proto.POLL, self.poll_body(wait, None), self.headers)

    def poll_body(self, wait: float, active: list[str] | None) -> dict[str, Any]:
        return {"wait": wait, "active": active or [], "settling": [], "hostname": "agent"}

    def finish(self, invoke_id: str, output: bytes = b"done\n") -> None:
        """Report the run started, then ended in Success with `output`."""
        reports = [
            proto.Report(invoke_id=invoke_id, seq=0, event="started", time=time.time()),
            proto.Report(
                invoke_id=invoke_id,
                seq=1,
                event="finished",
                time=time.time(),
                output=output,
                status="Success",
                exit_code=0,
            ),
        ]
        body = {"reports": [report.to_wire() for report in reports]}
        answer = self.ctl.post(proto.REPORT, body, self.headers)
        assert answer.status_code == 200 and not answer.json()["rejected"], answer.text


def tasks_of(answer: Answer) -> list[dict[str, Any]]:
    """The tasks in a poll's answer."""
    assert answer.status == 200, answer.body
    return json.loads(answer.body)["tasks"]  # type: ignore[no-any-return]
