"""What a handler gets besides its arguments."""

from __future__ import annotations

from dataclasses import dataclass

from assistcli.controller.notifier import LocalNotifier
from assistcli.controller.settings import Settings
from assistcli.controller.store import Store


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    settings: Settings
    notifier: LocalNotifier
    now: float  # the request's arrival, POSIX seconds
