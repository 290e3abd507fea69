"""Outbox backlog gauges and consumer counters, on the real database (and broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bazaar_local.nats import NatsServer
from chassis import (
    CloudEvent,
    Database,
    EventConsumer,
    NatsBroker,
    OutboxRelay,
    enqueue,
    new_event,
)
from chassis.metrics import ServiceMetrics
from chassis.testing import InMemoryBroker

pytestmark = pytest.mark.integration

TYPE = "bazaar.test.metric.happened.v1"


def event(n: int) -> CloudEvent:
    return new_event(source="/bazaar/test", type=TYPE, subject=str(n), data={"n": n})


async def test_outbox_gauges_show_the_backlog_then_its_drain(database: Database) -> None:
    metrics = ServiceMetrics(service="test")
    broker = InMemoryBroker()
    relay = OutboxRelay(database, broker, metrics=metrics)
    read = metrics.registry.get_sample_value
    async with database.transaction() as session:
        await enqueue(session, event(1), event(2))

    await relay.observe_backlog()
    assert read("bazaar_outbox_pending") == 2
    oldest = read("bazaar_outbox_oldest_pending_seconds")
    assert oldest is not None
    assert oldest >= 0

    relay.start()
    await relay.stop()  # its final pass publishes and samples the gauges

    assert len(broker.published) == 2
    assert read("bazaar_outbox_pending") == 0
    assert read("bazaar_outbox_oldest_pending_seconds") == 0


@pytest.fixture
async def nats(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    broker = NatsBroker(nats_server.url, name="test")
    await broker.connect(wait_seconds=5)
    await broker.ensure_stream("test")
    yield broker
    await broker.close()


async def test_consumer_counts_outcomes_redeliveries_and_lag(
    database: Database, nats: NatsBroker, eventually
) -> None:
    metrics = ServiceMetrics(service="test")
    read = metrics.registry.get_sample_value
    failed_once: set[str] = set()

    async def flaky(received: CloudEvent, _: AsyncSession | None) -> None:
        if received.data["n"] == 2 and received.id not in failed_once:
            failed_once.add(received.id)
            raise RuntimeError("first delivery fails")

    async with database.transaction() as session:
        await enqueue(session, event(1), event(2))
    await OutboxRelay(database, nats).publish_pending()
    consumer = EventConsumer(
        nats, name="test-metrics", stream_service="test", types=[TYPE], handler=flaky,
        database=database, metrics=metrics, backoff_seconds=(0.05,),
    )  # fmt: skip
    labels = {"consumer": "test-metrics"}

    def count(outcome: str) -> float:
        return read("bazaar_consumer_events_total", {**labels, "outcome": outcome}) or 0

    async def settled() -> bool:
        return count("applied") == 2

    consumer.start()
    try:
        await eventually(settled)
    finally:
        await consumer.stop()
    assert count("retry") == 1
    assert count("dead_lettered") == 0
    assert read("bazaar_consumer_redeliveries_total", labels) == 1
    # Read on the first pull, before anything was delivered: the whole backlog.
    assert read("bazaar_consumer_pending", labels) == 2
