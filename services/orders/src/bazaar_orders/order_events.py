"""The events the orders service publishes (contracts/events/bazaar.orders.*.json)."""

from __future__ import annotations

from typing import Any

from chassis import CloudEvent, new_event

from .domain import Order, RejectionReason

SOURCE = "/bazaar/orders"
ORDER_PLACED = "bazaar.orders.order.placed.v1"
ORDER_CONFIRMED = "bazaar.orders.order.confirmed.v1"
ORDER_REJECTED = "bazaar.orders.order.rejected.v1"
ORDER_CANCELLED = "bazaar.orders.order.cancelled.v1"


def _event(type_: str, order: Order, data: dict[str, Any]) -> CloudEvent:
    base = {"orderId": str(order.order_id), "customerId": str(order.customer_id)}
    return new_event(source=SOURCE, type=type_, subject=str(order.order_id), data=base | data)


def _money(order: Order) -> dict[str, Any]:
    return {"totalAmount": f"{order.total_amount:.2f}", "currency": order.currency}


def order_placed(order: Order) -> CloudEvent:
    items = [
        {
            "productId": str(line.product_id),
            "quantity": line.quantity,
            "unitPrice": f"{line.unit_price:.2f}",
        }
        for line in order.lines
    ]
    return _event(ORDER_PLACED, order, _money(order) | {"items": items})


def order_confirmed(order: Order) -> CloudEvent:
    return _event(ORDER_CONFIRMED, order, _money(order))


def order_rejected(order: Order, reason: RejectionReason, detail: str) -> CloudEvent:
    return _event(ORDER_REJECTED, order, {"reason": reason.value, "detail": detail})


def order_cancelled(order: Order) -> CloudEvent:
    return _event(ORDER_CANCELLED, order, _money(order))
