"""Which polls must look in the store: the notifier's record of news per instance."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from assistcli.controller.broker import LocalEventBroker
from assistcli.controller.notifier import RELOOK, WATCH_INTERVAL, Notifier, watch_interval


def test_an_instance_never_looked_at_must_look() -> None:
    assert Notifier(LocalEventBroker()).must_look("mi-1", [], now=0.0)


def test_a_complete_look_with_nothing_leased_makes_later_polls_skip_until_news() -> None:
    notifier = Notifier(LocalEventBroker())
    notifier.looked("mi-1", [], complete=True, now=10.0)
    assert not notifier.must_look("mi-1", [], now=11.0)
    assert notifier.must_look("mi-2", [], now=11.0)  # news is per instance
    notifier.notify(["mi-1"])
    assert notifier.must_look("mi-1", [], now=12.0)


def test_an_incomplete_look_means_look_again() -> None:
    notifier = Notifier(LocalEventBroker())
    notifier.looked("mi-1", [], complete=True, now=10.0)
    notifier.looked("mi-1", ["t-1"], complete=False, now=11.0)  # a full batch: maybe more
    assert notifier.must_look("mi-1", ["t-1"], now=12.0)


def test_leased_tasks_need_a_look_until_the_agent_holds_or_reports_them() -> None:
    notifier = Notifier(LocalEventBroker())
    notifier.looked("mi-1", ["t-1", "t-2"], complete=True, now=10.0)
    assert notifier.must_look("mi-1", [], now=11.0)  # the answer may be lost: deliver again
    assert notifier.must_look("mi-1", ["t-1"], now=11.0)
    assert not notifier.must_look("mi-1", ["t-1", "t-2"], now=11.0)
    notifier.acknowledged("mi-1", ["t-1"])
    assert not notifier.must_look("mi-1", ["t-2"], now=11.0)
    notifier.acknowledged("mi-1", ["t-2"])
    assert not notifier.must_look("mi-1", [], now=11.0)


def test_a_quiet_instance_looks_again_after_the_safety_interval() -> None:
    notifier = Notifier(LocalEventBroker())
    notifier.looked("mi-1", [], complete=True, now=10.0)
    assert not notifier.must_look("mi-1", [], now=10.0 + RELOOK)
    assert notifier.must_look("mi-1", [], now=10.5 + RELOOK)


def test_forgetting_an_instance_drops_its_quiet() -> None:
    notifier = Notifier(LocalEventBroker())
    notifier.looked("mi-1", [], complete=True, now=10.0)
    notifier.forget("mi-1")
    assert notifier.must_look("mi-1", [], now=11.0)


def test_notify_wakes_subscribers_of_that_instance_only() -> None:
    async def scenario() -> None:
        notifier = Notifier(LocalEventBroker())
        with notifier.subscribe("mi-1") as one, notifier.subscribe("mi-2") as two:
            assert sorted(notifier.holding()) == ["mi-1", "mi-2"]
            notifier.notify(["mi-1"])
            assert one.is_set() and not two.is_set()
        assert list(notifier.holding()) == []

    asyncio.run(scenario())


def test_news_heard_from_the_broker_wakes_polls_and_ends_quiet() -> None:
    async def scenario() -> None:
        broker = LocalEventBroker()
        notifier = Notifier(broker)
        notifier.looked("mi-1", [], complete=True, now=10.0)
        with notifier.subscribe("mi-1") as woken:
            broker.publish({"mi-1"})  # as another controller's announcement arrives
            assert woken.is_set()
        assert notifier.must_look("mi-1", [], now=11.0)

    asyncio.run(scenario())


class DeafBroker(LocalEventBroker):
    def publish(self, instance_ids: Collection[str]) -> None:
        pass  # lost on the way


class StoreWithNews:
    async def instances_with_news(self) -> list[str]:
        return ["mi-1"]


def test_the_store_s_news_wakes_polls_whose_wake_up_was_lost() -> None:
    async def scenario() -> None:
        notifier = Notifier(DeafBroker())
        notifier.looked("mi-1", [], complete=True, now=10.0)
        with notifier.subscribe("mi-1") as woken:
            notifier.notify(["mi-1"])
            assert not woken.is_set() and not notifier.must_look("mi-1", [], now=11.0)
            store: Any = StoreWithNews()
            watching = asyncio.create_task(notifier.watch(store, 0.01))
            await asyncio.wait_for(woken.wait(), timeout=5)
            watching.cancel()
        assert notifier.must_look("mi-1", [], now=11.0)

    asyncio.run(scenario())


def test_news_is_watched_well_within_the_delivery_timeout() -> None:
    assert watch_interval(60.0) == WATCH_INTERVAL
    assert watch_interval(2.0) == 0.5
