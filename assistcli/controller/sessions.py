"""What the controller remembers of each agent between its requests.

Agents poll all the time: reading the instance to check its secret, and writing its heartbeat,
on every poll would make an idle fleet the controller's largest cost. So a verified secret is
remembered until the instance is deregistered (wherever that was done: every controller follows
the store's feed of deregistrations, see deregistrations.py), and heartbeats are gathered in
memory and written in one transaction every FLUSH_INTERVAL seconds. A poll that changes what the
agent says of its host, or that comes from an agent the store may show as offline, is written
at once.

An agent whose long poll the controller holds open is connected (the kernel drops connections to
dead peers, see server.py): every half of the heartbeat window, their heartbeats are written
too, so LastHeartbeatTime and CloudAssistantStatus stay current between polls minutes apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistcli.api.agent import HostFacts
from assistcli.controller.models import Heartbeat, Instance
from assistcli.controller.store import Store
from assistcli.errors import ApiError

logger = logging.getLogger(__name__)

FLUSH_INTERVAL = 2.0  # seconds: LastHeartbeatTime is at most about this stale


def secret_hash(secret: str) -> str:
    """Secrets are long and random, so one SHA-256 is enough to keep them unreadable at rest."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(slots=True)
class Session:
    instance_id: str
    secret_hash: str
    facts: HostFacts  # as stored
    stored: float  # the time of the last heartbeat written
    active_tasks: int = 0  # as the last poll said
    gone: bool = False  # deregistered: requests that hold this session are refused


class Sessions:
    def __init__(
        self,
        store: Store,
        online_window: float,
        holding: Callable[[], Iterable[str]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.online_window = online_window
        self.holding = holding  # the instances whose poll is open now
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._due: dict[str, Heartbeat] = {}  # beats waiting for the next flush
        self._reading: dict[str, int] = {}  # instances being read -> how many reads
        # Deregistered while being read: what those reads return is out of date. An entry
        # lives only as long as such a read, so the set stays as small as the reads in flight.
        self._gone: set[str] = set()

    async def authenticate(self, instance_id: str, secret: str) -> Session:
        """The session of the instance whose id and secret an agent's request carries."""
        session = self._sessions.get(instance_id) or await self._load(instance_id)
        if not hmac.compare_digest(session.secret_hash, secret_hash(secret)):
            raise ApiError("Agent.InvalidCredential")
        return self._sessions.setdefault(instance_id, session)  # one, if two polls raced

    async def _load(self, instance_id: str) -> Session:
        """A session read from the store, unless the instance is deregistered, or was while
        it was being read."""
        self._reading[instance_id] = self._reading.get(instance_id, 0) + 1
        try:
            instance = await self.store.get_instance(instance_id) if instance_id else None
            gone = instance_id in self._gone
        finally:
            self._reading[instance_id] -= 1
            if not self._reading[instance_id]:
                del self._reading[instance_id]
                self._gone.discard(instance_id)  # reads from now on see the deregistration
        if instance is None or gone:
            raise ApiError("Agent.NotRegistered")
        return _session_of(instance)

    def check(self, session: Session) -> None:
        """Refuse an instance deregistered since its agent's request was let in."""
        if session.gone:
            raise ApiError("Agent.NotRegistered")

    def forget(self, instance_id: str) -> None:
        """The instance is deregistered (and that is committed): its agent is not let in
        again, and requests let in already are refused where they check."""
        session = self._sessions.pop(instance_id, None)
        if session is not None:
            session.gone = True
        self._due.pop(instance_id, None)
        if instance_id in self._reading:
            self._gone.add(instance_id)

    def clear(self) -> None:
        """Forget every verified secret: the next request of each agent reads its instance
        again (after missing part of the deregistration feed)."""
        self._sessions.clear()

    async def beat(self, session: Session, facts: HostFacts, active_tasks: int, now: float) -> bool:
        """Record a poll; True when the agent reports a boot other than the stored one."""
        rebooted = bool(facts.boot_id) and facts.boot_id != session.facts.boot_id
        session.active_tasks = active_tasks
        if facts != session.facts or now - session.stored > self.online_window / 2:
            self._due.pop(session.instance_id, None)
            beat = Heartbeat(session.instance_id, now, active_tasks, facts)
            await self.store.record_heartbeats([beat])
            session.facts, session.stored = facts, max(session.stored, now)
        else:
            self._due[session.instance_id] = Heartbeat(session.instance_id, now, active_tasks)
        return rebooted

    async def flush(self) -> None:
        beats, self._due = self._due, {}
        try:
            await self.store.record_heartbeats(list(beats.values()))
        except Exception:
            self._due = beats | self._due  # newer beats win; the next flush tries again
            raise
        for beat in beats.values():
            session = self._sessions.get(beat.instance_id)
            if session is not None:
                session.stored = max(session.stored, beat.time)

    def held(self, now: float) -> None:
        """Gather a heartbeat for every agent whose poll is open now."""
        for instance_id in self.holding():
            session = self._sessions.get(instance_id)
            if session is not None and instance_id not in self._due:
                self._due[instance_id] = Heartbeat(instance_id, now, session.active_tasks)

    async def run(self) -> None:
        """Write the gathered heartbeats every FLUSH_INTERVAL seconds until cancelled; the last
        ones are written on the way out."""
        refresh_every, refreshed = self.online_window / 2, self.clock()
        try:
            while True:
                await asyncio.sleep(FLUSH_INTERVAL)
                if self.clock() - refreshed >= refresh_every:
                    refreshed = self.clock()
                    self.held(refreshed)
                try:
                    await self.flush()
                except Exception:
                    logger.exception("writing heartbeats failed; retrying")
        finally:
            with contextlib.suppress(Exception):
                await self.flush()


def _session_of(instance: Instance) -> Session:
    facts = HostFacts(**{name: getattr(instance, name) for name in HostFacts.__dataclass_fields__})
    return Session(
        instance_id=instance.instance_id,
        secret_hash=instance.secret_hash,
        facts=facts,
        stored=instance.last_heartbeat or 0.0,
        active_tasks=instance.active_task_count,
    )
