"""In-memory fakes of the notifications service's own ports, and event builders."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bazaar_notifications.domain import (
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    ORDER_REJECTED,
    ListPosition,
    Notification,
)


class FakeNotificationRepository:
    """Behaves like the table: event ids are unique, listing is newest first."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Notification] = {}

    async def add(self, notification: Notification) -> bool:
        if any(n.event_id == notification.event_id for n in self.rows.values()):
            return False
        self.rows[notification.notification_id] = notification
        return True

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, limit: int, after: ListPosition | None
    ) -> list[Notification]:
        mine = sorted(
            (n for n in self.rows.values() if n.customer_id == customer_id),
            key=lambda n: (n.created_at, n.notification_id),
            reverse=True,
        )
        if after is not None:
            mine = [
                n
                for n in mine
                if (n.created_at, n.notification_id) < (after.created_at, after.notification_id)
            ]
        return mine[:limit]


@pytest.fixture
def repository() -> FakeNotificationRepository:
    return FakeNotificationRepository()


@pytest.fixture
def repositories(
    repository: FakeNotificationRepository,
) -> Callable[[], Any]:
    @asynccontextmanager
    async def open_repository() -> AsyncIterator[FakeNotificationRepository]:
        yield repository

    return open_repository


def order_event_data(
    event_type: str,
    *,
    order_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    total: str = "59.97",
    reason: str = "out_of_stock",
) -> dict[str, Any]:
    """The ``data`` of an order event as contracts/events describes it."""
    data: dict[str, Any] = {
        "orderId": str(order_id or uuid.uuid4()),
        "customerId": str(customer_id or uuid.uuid4()),
    }
    if event_type in (ORDER_CONFIRMED, ORDER_CANCELLED):
        data |= {"totalAmount": total, "currency": "USD"}
    elif event_type == ORDER_REJECTED:
        data |= {"reason": reason, "detail": "products answered 409 for a line"}
    return data


@pytest.fixture
def event_data() -> Callable[..., dict[str, Any]]:
    return order_event_data
