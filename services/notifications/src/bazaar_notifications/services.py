"""Use cases. They take ports, raise domain errors, and know nothing of HTTP, SQL or NATS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from .domain import ListPosition, Notification, NotificationPage, OrderEvent
from .ports import NotificationRepository, Repositories


def utc_now() -> datetime:
    return datetime.now(UTC)


async def notify(
    event: OrderEvent,
    notifications: NotificationRepository,
    *,
    clock: Callable[[], datetime] = utc_now,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Notification | None:
    """Records the one notification an order event deserves; None if it was already recorded.

    Runs inside the caller's transaction (the consumer's inbox transaction), so the inbox row
    and the notification commit together or not at all.
    """
    notification = Notification.of(event, notification_id=new_id(), created_at=clock())
    return notification if await notifications.add(notification) else None


async def list_notifications(
    repositories: Repositories,
    customer_id: uuid.UUID,
    *,
    limit: int,
    after: ListPosition | None,
) -> NotificationPage:
    async with repositories() as notifications:
        # One extra row tells whether another page follows without a second query.
        rows = await notifications.list_for_customer(customer_id, limit=limit + 1, after=after)
    items = rows[:limit]
    if len(rows) > limit:
        last = items[-1]
        return NotificationPage(items, ListPosition(last.created_at, last.notification_id))
    return NotificationPage(items, None)
