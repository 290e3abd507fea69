"""Use cases on stored orders: read your own, list them, cancel one. (Placing one lives in
placement.py, driving the saga in saga_runner.py.) They take ports and raise domain errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from .domain import (
    DependencyUnavailable,
    ListPosition,
    Order,
    OrderError,
    OrderNotCancellable,
    OrderNotFound,
    OrderPage,
    OrderStatus,
)
from .order_events import order_cancelled
from .placement import utc_now
from .ports import UnitOfWorkFactory
from .saga import Saga


async def get_order(
    customer_id: uuid.UUID, order_id: uuid.UUID, *, uow: UnitOfWorkFactory
) -> Order:
    """Another customer's order is reported exactly like a missing one."""
    async with uow() as unit:
        order = await unit.orders.get(order_id)
    if order is None or order.customer_id != customer_id:
        raise OrderNotFound(f"no order {order_id}")
    return order


async def list_orders(
    customer_id: uuid.UUID,
    *,
    limit: int,
    after: ListPosition | None,
    uow: UnitOfWorkFactory,
) -> OrderPage:
    async with uow() as unit:
        # One extra row tells whether another page exists without a count query.
        orders = await unit.orders.list_for_customer(customer_id, limit=limit + 1, after=after)
    page = tuple(orders[:limit])
    next_position = None
    if len(orders) > limit:
        last = page[-1]
        next_position = ListPosition(created_at=last.created_at, order_id=last.order_id)
    return OrderPage(orders=page, next_position=next_position)


async def cancel_order(
    customer_id: uuid.UUID,
    order_id: uuid.UUID,
    *,
    uow: UnitOfWorkFactory,
    clock: Callable[[], datetime] = utc_now,
) -> tuple[Order, bool]:
    """CONFIRMED → CANCELLED with OrderCancelled, and the saga set to refund and release.

    Returns the order and whether this call cancelled it (False: it already was).
    """
    try:
        async with uow() as unit:
            # The row lock serialises concurrent cancels of one order.
            order = await unit.orders.get(order_id, for_update=True)
            if order is None or order.customer_id != customer_id:
                raise OrderNotFound(f"no order {order_id}")
            if order.status is OrderStatus.CANCELLED:
                return order, False
            if order.status is not OrderStatus.CONFIRMED:
                raise OrderNotCancellable(order.status)
            now = clock()
            order.cancel(now)
            await unit.orders.update_status(order)
            saga = await unit.sagas.get(order_id)
            if saga is None:
                # Confirmed before the saga existed (synchronous placement): stock was reserved but
                # no payment taken, so releasing is the only compensation.
                await unit.sagas.add(Saga.legacy_cancellation(order_id, now=now))
            elif not await unit.sagas.transition(saga.cancel(now), expected=saga):
                raise DependencyUnavailable("orders-database", "the saga changed concurrently")
            await unit.outbox.add(order_cancelled(order))
            await unit.commit()
    except OrderError:
        raise
    except Exception as exc:
        raise DependencyUnavailable("orders-database", "the order could not be cancelled") from exc
    return order, True
