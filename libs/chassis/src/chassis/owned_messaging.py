"""A service's broker connection and outbox relay, for the length of its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from .broker import Broker
from .db import Database
from .event_schemas import EventSchemas
from .metrics import ServiceMetrics
from .nats_broker import NatsBroker
from .outbox import OutboxRelay
from .settings import MessagingSettings


@asynccontextmanager
async def owned_broker(
    settings: MessagingSettings,
    *,
    name: str,
    streams: Sequence[str] = (),
    connect_wait_seconds: float = 0.0,
) -> AsyncIterator[NatsBroker]:
    """Connects in the background and keeps trying: a broker outage must not crash-loop the
    service; its outbox holds the events meanwhile."""
    broker = NatsBroker(settings.nats_url, name=name)
    try:
        for service in streams:
            await broker.ensure_stream(service)
        await broker.connect(wait_seconds=connect_wait_seconds)
        yield broker
    finally:
        await broker.close()


@asynccontextmanager
async def owned_outbox(
    database: Database,
    broker: Broker,
    settings: MessagingSettings,
    *,
    metrics: ServiceMetrics | None = None,
) -> AsyncIterator[OutboxRelay]:
    relay = OutboxRelay(
        database,
        broker,
        schemas=EventSchemas.load(settings.event_schemas_dir),
        poll_seconds=settings.outbox_poll_seconds,
        metrics=metrics,
    )
    relay.start()
    try:
        yield relay
    finally:
        await relay.stop()
