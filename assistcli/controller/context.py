"""What a handler gets besides its arguments."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistcli.controller.followers import Followers
from assistcli.controller.models import Instance, TokenClaim, TokenResult
from assistcli.controller.notifier import Notifier
from assistcli.controller.sessions import Sessions
from assistcli.controller.settings import Settings
from assistcli.controller.store import Store


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    settings: Settings
    notifier: Notifier
    sessions: Sessions
    now: float  # the request's arrival, POSIX seconds
    client_token: tuple[str, str, TokenClaim] | None = None  # (action, token, its claim)
    clock: Callable[[], float] = time.time  # the time now, for work that outlasts the request
    controller_id: str = ""  # this controller, as it follows the deregistration feed
    followers: Followers = field(default_factory=Followers)  # of runs' output: one per app

    def finishing(self, result: dict[str, Any]) -> TokenResult | None:
        """What a handler's final write stores of its ClientToken, if the request has one: the
        result and the changes commit together, so a crash cannot leave the token unfinished
        with its changes written."""
        if self.client_token is None:
            return None
        scope, token, claim = self.client_token
        return TokenResult(scope, token, claim.claimed_at, json.dumps(result))

    def agent_online(self, instance: Instance) -> bool:
        """Its agent polled within the heartbeat window (CloudAssistantStatus "true")."""
        last = instance.last_heartbeat
        return last is not None and self.now - last <= self.settings.heartbeat_window
