"""Placing an order: price it, then store it PENDING with its saga, its OrderPlaced event and its
idempotency key in ONE transaction. The saga runner does the rest (saga_runner.py)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from chassis import current_traceparent, tag_current_span

from .domain import (
    DependencyUnavailable,
    IdempotencyKeyReused,
    Order,
    OrderError,
    RequestedLine,
    check_requested_lines,
)
from .order_events import order_placed
from .ports import Catalog, IdempotencyRecord, UnitOfWorkFactory
from .saga import Saga

DEFAULT_SAGA_DEADLINE = timedelta(seconds=900)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Placement:
    order: Order
    # True when an earlier request with the same Idempotency-Key placed this order.
    replayed: bool


def request_hash(requested: Sequence[RequestedLine], payment_token: str) -> str:
    """What "the same request" means for an Idempotency-Key: same lines, same order, same card."""
    canonical = {
        "items": [[str(line.product_id), line.quantity] for line in requested],
        "paymentToken": payment_token,
    }
    return hashlib.sha256(orjson.dumps(canonical)).hexdigest()


async def _replay(
    uow: UnitOfWorkFactory, customer_id: uuid.UUID, key: str, fingerprint: str
) -> Order | None:
    try:
        async with uow() as unit:
            record = await unit.idempotency_keys.get(customer_id, key)
            if record is None:
                return None
            order = await unit.orders.get(record.order_id)
    except Exception as exc:
        raise DependencyUnavailable("orders-database", "idempotency keys unreadable") from exc
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
    if order is None:  # the foreign key makes this impossible; never answer with nothing
        raise DependencyUnavailable("orders-database", "an idempotency key lost its order")
    return order


async def place_order(
    customer_id: uuid.UUID,
    requested: Sequence[RequestedLine],
    *,
    payment_token: str,
    idempotency_key: str | None,
    catalog: Catalog,
    uow: UnitOfWorkFactory,
    saga_deadline: timedelta = DEFAULT_SAGA_DEADLINE,
    clock: Callable[[], datetime] = utc_now,
    new_order_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Placement:
    check_requested_lines(requested)
    fingerprint = request_hash(requested, payment_token)
    if idempotency_key is not None:
        # Before pricing: a retry must get its order back even while the catalog is down.
        earlier = await _replay(uow, customer_id, idempotency_key, fingerprint)
        if earlier is not None:
            return Placement(earlier, replayed=True)

    prices = await catalog.prices([line.product_id for line in requested])
    now = clock()
    order = Order.place(
        order_id=new_order_id(),
        customer_id=customer_id,
        requested=requested,
        prices=prices,
        now=now,
    )
    tag_current_span(**{"bazaar.order_id": str(order.order_id)})
    saga = Saga.start(
        order.order_id,
        payment_token=payment_token,
        now=now,
        deadline=saga_deadline,
        traceparent=current_traceparent(),
    )
    try:
        async with uow() as unit:
            await unit.orders.add(order)
            await unit.sagas.add(saga)
            await unit.outbox.add(order_placed(order))
            record = IdempotencyRecord(fingerprint, order.order_id)
            won = idempotency_key is None or await unit.idempotency_keys.add(
                customer_id, idempotency_key, record
            )
            if won:
                await unit.commit()
    except OrderError:
        raise
    except Exception as exc:
        raise DependencyUnavailable("orders-database", "the order could not be stored") from exc
    if won:
        return Placement(order, replayed=False)
    # A concurrent request with the same key committed first (our transaction rolled back).
    assert idempotency_key is not None
    earlier = await _replay(uow, customer_id, idempotency_key, fingerprint)
    if earlier is None:
        raise DependencyUnavailable("orders-database", "the idempotency key vanished")
    return Placement(earlier, replayed=True)
