"""What a handler gets besides its arguments."""

from __future__ import annotations

from dataclasses import dataclass

from assistcli.controller.models import Instance
from assistcli.controller.notifier import LocalNotifier
from assistcli.controller.sessions import Sessions
from assistcli.controller.settings import Settings
from assistcli.controller.store import Store


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    settings: Settings
    notifier: LocalNotifier
    sessions: Sessions
    now: float  # the request's arrival, POSIX seconds

    def agent_online(self, instance: Instance) -> bool:
        """Its agent polled within the heartbeat window (CloudAssistantStatus "true")."""
        last = instance.last_heartbeat
        return last is not None and self.now - last <= self.settings.heartbeat_window
