"""Use cases. They take ports, raise domain errors, and know nothing of HTTP or SQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from chassis import get_logger

from .domain import (
    DependencyUnavailable,
    InsufficientStock,
    ListPosition,
    Order,
    OrderNotFound,
    OrderPage,
    RequestedLine,
    UnknownProducts,
    check_requested_lines,
)
from .ports import Catalog, Inventory, UnitOfWorkFactory

_log = get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


async def place_order(
    customer_id: uuid.UUID,
    requested: Sequence[RequestedLine],
    *,
    catalog: Catalog,
    inventory: Inventory,
    uow: UnitOfWorkFactory,
    clock: Callable[[], datetime] = utc_now,
    new_order_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Order:
    """Price, reserve, then store the order CONFIRMED; on any failure keep neither stock nor row.

    Synchronous for now: the saga (DESIGN.md §3) will store the order PENDING first and move
    the reservation behind an outbox, reusing ``Order.place`` and the same ports.
    """
    check_requested_lines(requested)
    prices = await catalog.prices([line.product_id for line in requested])
    order = Order.place(
        order_id=new_order_id(),
        customer_id=customer_id,
        requested=requested,
        prices=prices,
        now=clock(),
    )

    try:
        await inventory.reserve(order.order_id, requested)
    except (InsufficientStock, UnknownProducts):
        raise  # a definite "no": products reserved nothing, so there is nothing to give back
    except BaseException:
        # The reservation may or may not have landed (timeout, 5xx, odd answer, cancellation);
        # releasing is idempotent and tombstones the order id, so it is always safe.
        await _release_quietly(inventory, order.order_id)
        raise

    order.confirm(clock())
    try:
        async with uow() as unit:
            await unit.orders.add(order)
            await unit.commit()
    except Exception as exc:
        _log.exception("order_store_failed", order_id=str(order.order_id))
        await _release_quietly(inventory, order.order_id)
        raise DependencyUnavailable("orders-database", "the order could not be stored") from exc
    except BaseException:
        await _release_quietly(inventory, order.order_id)
        raise
    return order


async def _release_quietly(inventory: Inventory, order_id: uuid.UUID) -> None:
    """Compensation must not mask the error that made it necessary."""
    try:
        await inventory.release(order_id)
    except Exception:
        # Stock stays held until someone releases it; the saga's outbox will make this durable.
        _log.exception("reservation_release_failed", order_id=str(order_id))
    else:
        _log.info("reservation_released", order_id=str(order_id))


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
