"""Notifications: what an order event tells its customer, in words. Pure (no I/O)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

ORDER_CONFIRMED = "bazaar.orders.order.confirmed.v1"
ORDER_REJECTED = "bazaar.orders.order.rejected.v1"
ORDER_CANCELLED = "bazaar.orders.order.cancelled.v1"
CONSUMED_TYPES = (ORDER_CONFIRMED, ORDER_REJECTED, ORDER_CANCELLED)


class NotificationKind(StrEnum):
    ORDER_CONFIRMED = "order_confirmed"
    ORDER_REJECTED = "order_rejected"
    ORDER_CANCELLED = "order_cancelled"


_KIND_OF_TYPE: Mapping[str, NotificationKind] = {
    ORDER_CONFIRMED: NotificationKind.ORDER_CONFIRMED,
    ORDER_REJECTED: NotificationKind.ORDER_REJECTED,
    ORDER_CANCELLED: NotificationKind.ORDER_CANCELLED,
}

# The saga's rejection reasons, as a customer would want them explained. The event's free-text
# ``detail`` is for operators (it may name product ids), so it never reaches the customer.
_REJECTION_REASONS: Mapping[str, str] = {
    "out_of_stock": "some of its items are out of stock",
    "payment_declined": "your payment was declined",
    "unknown_product": "some of its items are no longer sold",
    "timed_out": "we could not complete it in time",
}
_UNEXPLAINED_REJECTION = "we could not complete it"


class NotificationError(Exception):
    """Base of every error the notifications domain raises on purpose."""


class UnreadableEvent(NotificationError):
    """An event this service consumes, but whose content it cannot turn into a notification."""


@dataclass(frozen=True)
class OrderEvent:
    """The part of an order event a notification is made from."""

    event_id: uuid.UUID
    kind: NotificationKind
    order_id: uuid.UUID
    customer_id: uuid.UUID
    data: Mapping[str, Any]

    @classmethod
    def parse(cls, event_id: str, event_type: str, data: Mapping[str, Any]) -> OrderEvent:
        kind = _KIND_OF_TYPE.get(event_type)
        if kind is None:
            raise UnreadableEvent(f"events of type {event_type!r} are not notified")
        return cls(
            event_id=_uuid(event_id, "id"),
            kind=kind,
            order_id=_uuid(data.get("orderId"), "data.orderId"),
            customer_id=_uuid(data.get("customerId"), "data.customerId"),
            data=data,
        )


@dataclass(frozen=True)
class Notification:
    notification_id: uuid.UUID
    customer_id: uuid.UUID
    order_id: uuid.UUID
    event_id: uuid.UUID
    kind: NotificationKind
    message: str
    created_at: datetime

    @classmethod
    def of(
        cls, event: OrderEvent, *, notification_id: uuid.UUID, created_at: datetime
    ) -> Notification:
        return cls(
            notification_id=notification_id,
            customer_id=event.customer_id,
            order_id=event.order_id,
            event_id=event.event_id,
            kind=event.kind,
            message=render_message(event),
            created_at=created_at,
        )


@dataclass(frozen=True)
class ListPosition:
    """Where a page of a customer's notifications ended: (created_at, notification_id) desc."""

    created_at: datetime
    notification_id: uuid.UUID


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    next_position: ListPosition | None


def short_order_id(order_id: uuid.UUID) -> str:
    """Enough of the id to recognise the order in a list, as order emails usually show."""
    return str(order_id)[:8]


def render_message(event: OrderEvent) -> str:
    order = f"Your order {short_order_id(event.order_id)}"
    if event.kind is NotificationKind.ORDER_CONFIRMED:
        return f"{order} is confirmed: total {_money(event.data)}."
    if event.kind is NotificationKind.ORDER_CANCELLED:
        return f"{order} was cancelled; {_money(event.data)} will be refunded to your card."
    reason = _REJECTION_REASONS.get(str(event.data.get("reason")), _UNEXPLAINED_REJECTION)
    return f"{order} could not be placed because {reason}. You have not been charged."


def _money(data: Mapping[str, Any]) -> str:
    amount, currency = data.get("totalAmount"), data.get("currency")
    if not isinstance(amount, str) or not isinstance(currency, str) or not currency:
        raise UnreadableEvent("data.totalAmount and data.currency are required")
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise UnreadableEvent(f"data.totalAmount {amount!r} is not an amount") from exc
    if not value.is_finite():
        raise UnreadableEvent(f"data.totalAmount {amount!r} is not an amount")
    return f"{currency} {value:.2f}"


def _uuid(value: object, field: str) -> uuid.UUID:
    if not isinstance(value, str):
        raise UnreadableEvent(f"{field} is missing or not a string")
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise UnreadableEvent(f"{field} is not a UUID") from exc
