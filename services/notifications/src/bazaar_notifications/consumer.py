"""The event entrypoint: order events in, notifications recorded (the API's twin for NATS).

The chassis consumer runs the handler inside the transaction that also writes the inbox row,
so a redelivered event is skipped before it gets here; the unique event id in the table is
the second guard.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chassis import (
    CloudEvent,
    Database,
    EventConsumer,
    EventSchemas,
    Handler,
    NatsBroker,
    ServiceMetrics,
)

from . import services
from .domain import CONSUMED_TYPES, OrderEvent
from .repository import SqlNotificationRepository

CONSUMER_NAME = "notifications"
ORDERS_STREAM_SERVICE = "orders"


def order_event_handler(clock: Callable[[], datetime] = services.utc_now) -> Handler:
    async def handle(event: CloudEvent, session: AsyncSession | None) -> None:
        if session is None:
            raise RuntimeError("notifications are recorded in the consumer's inbox transaction")
        order_event = OrderEvent.parse(event.id, event.type, event.data)
        await services.notify(order_event, SqlNotificationRepository(session), clock=clock)

    return handle


def order_events_consumer(
    broker: NatsBroker,
    database: Database,
    schemas: EventSchemas,
    *,
    max_deliver: int,
    backoff_seconds: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0),
    metrics: ServiceMetrics | None = None,
) -> EventConsumer:
    return EventConsumer(
        broker,
        name=CONSUMER_NAME,
        stream_service=ORDERS_STREAM_SERVICE,
        types=CONSUMED_TYPES,
        handler=order_event_handler(),
        database=database,
        schemas=schemas,
        max_deliver=max_deliver,
        backoff_seconds=backoff_seconds,
        metrics=metrics,
    )
