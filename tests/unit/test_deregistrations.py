"""Following the store's deregistration feed (deregistrations.py) against a real SQLite store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assistcli.controller import deregistrations
from assistcli.controller.broker import LocalEventBroker
from assistcli.controller.context import Context
from assistcli.controller.models import Instance
from assistcli.controller.notifier import Notifier
from assistcli.controller.sessions import Session, Sessions, secret_hash
from assistcli.controller.settings import Settings
from assistcli.controller.store import Store
from assistcli.controller.store.sqlite import SqliteStore
from assistcli.errors import ApiError


def follow_until_forgotten(tmp_path: Path, deregister: bool) -> None:
    """Follow the feed until mi-1's session is dropped: deregistered by another process, or
    because the feed may have been missed; then check what the agent gets."""

    async def main(store: Store) -> None:
        await store.add_instance(
            Instance(
                instance_id="mi-1",
                instance_name="web",
                registration_time=1.0,
                secret_hash=secret_hash("s"),
            )
        )
        notifier = Notifier(LocalEventBroker())
        sessions = Sessions(store, 120.0, notifier.holding)

        def context() -> Context:
            return Context(store, Settings(data_dir=tmp_path), notifier, sessions, now=0.0)

        session = await sessions.authenticate("mi-1", "s")
        position = await deregistrations.join(store, "me")
        following = asyncio.create_task(deregistrations.follow(context, "me", position))
        if deregister:
            await store.deregister_instance("mi-1", 1.0)
        for _ in range(500):  # the feed is read every 0.2 s
            if "mi-1" not in sessions._sessions:
                break
            await asyncio.sleep(0.01)
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        assert await store.controllers_behind(position + 1, 0.0) == []  # it said it stopped
        await check_agent(sessions, session, refused=deregister)

    async def opened() -> None:
        store = SqliteStore(tmp_path / "assist.db")
        await store.open()
        try:
            await main(store)
        finally:
            await store.close()

    asyncio.run(opened())


async def check_agent(sessions: Sessions, session: Session, refused: bool) -> None:
    if refused:
        with pytest.raises(ApiError):
            sessions.check(session)
        with pytest.raises(ApiError):
            await sessions.authenticate("mi-1", "s")
    else:
        sessions.check(session)
        assert await sessions.authenticate("mi-1", "s") is not session  # read again


def test_a_deregistration_made_elsewhere_is_applied(tmp_path: Path) -> None:
    follow_until_forgotten(tmp_path, deregister=True)


def test_a_controller_that_may_have_missed_part_of_the_feed_verifies_agents_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deregistrations, "MISSED", -1.0)  # every read comes too late
    follow_until_forgotten(tmp_path, deregister=False)
