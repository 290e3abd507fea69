"""Cancelling orders (refund, then release, as saga steps) and the sweeper that resumes due
sagas, over in-memory fakes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bazaar_orders import services
from bazaar_orders.domain import OrderNotCancellable, OrderNotFound, OrderStatus
from bazaar_orders.order_events import ORDER_CANCELLED
from bazaar_orders.saga import SagaState
from bazaar_orders.saga_driver import SagaDriver

CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")


async def test_cancelling_a_confirmed_order_refunds_and_releases(
    stocked: Any,
    inventory: Any,
    payments: Any,
    store: Any,
    clock: Any,
    place: Any,
    make_runner: Any,
) -> None:
    mug = stocked("19.99")
    order = await place((mug, 3))
    await make_runner().advance(order.order_id)

    cancelled, changed = await services.cancel_order(
        CUSTOMER, order.order_id, uow=store, clock=clock
    )

    assert changed
    assert cancelled.status is OrderStatus.CANCELLED
    assert store.orders[order.order_id].status is OrderStatus.CANCELLED
    assert store.saga(order.order_id).state is SagaState.REFUNDING
    [event] = store.events_of(ORDER_CANCELLED)
    assert event.data["totalAmount"] == "59.97"

    assert await make_runner().advance(order.order_id) is SagaState.CANCELLED
    assert payments.status == {order.order_id: "REFUNDED"}
    assert inventory.stock == {mug: 10}

    again, changed = await services.cancel_order(CUSTOMER, order.order_id, uow=store, clock=clock)
    assert (again.status, changed) == (OrderStatus.CANCELLED, False)
    assert len(store.events_of(ORDER_CANCELLED)) == 1
    assert payments.effects.count(("refund", order.order_id)) == 1


async def test_only_confirmed_orders_of_your_own_can_be_cancelled(
    stocked: Any, inventory: Any, store: Any, place: Any, make_runner: Any
) -> None:
    mug = stocked("1.00", 1)
    pending = await place((mug, 1))
    rejected = await place((mug, 5))
    await make_runner().advance(rejected.order_id)
    events_before = list(store.events)

    with pytest.raises(OrderNotCancellable) as caught:
        await services.cancel_order(CUSTOMER, pending.order_id, uow=store)
    assert caught.value.status is OrderStatus.PENDING
    with pytest.raises(OrderNotCancellable) as caught:
        await services.cancel_order(CUSTOMER, rejected.order_id, uow=store)
    assert caught.value.status is OrderStatus.REJECTED
    with pytest.raises(OrderNotFound):
        await services.cancel_order(uuid.uuid4(), pending.order_id, uow=store)
    assert store.events == events_before
    assert store.orders[pending.order_id].status is OrderStatus.PENDING


async def test_the_sweeper_resumes_due_sagas_and_leaves_leased_ones_alone(
    stocked: Any,
    inventory: Any,
    store: Any,
    clock: Any,
    place: Any,
    make_runner: Any,
) -> None:
    mug = stocked("1.00")
    free, leased = await place((mug, 1)), await place((mug, 1))
    async with store() as unit:
        assert await unit.sagas.claim(leased.order_id, owner="dead", lease_seconds=30)
        await unit.commit()
    driver = SagaDriver(make_runner(), uow=store, concurrency=4)

    assert await driver.sweep_once() == 1
    await driver.drain()
    assert store.orders[free.order_id].status is OrderStatus.CONFIRMED
    assert store.orders[leased.order_id].status is OrderStatus.PENDING

    clock.advance(31)  # the dead runner's lease runs out
    assert await driver.sweep_once() == 1
    await driver.drain()
    assert store.orders[leased.order_id].status is OrderStatus.CONFIRMED
    assert await driver.sweep_once() == 0


async def test_an_event_for_a_saga_this_process_runs_claims_nothing(
    stocked: Any, inventory: Any, gated: Any, store: Any, place: Any, make_runner: Any
) -> None:
    mug = stocked("1.00")
    order = await place((mug, 1))
    driver = SagaDriver(make_runner(inventory=gated), uow=store, concurrency=4)
    driver.kick(order.order_id)
    await gated.entered.wait()
    opened = store.units_opened

    await driver.advance_unless_running(order.order_id)  # OrderPlaced arrives meanwhile
    assert store.units_opened == opened  # not even a claim was tried
    gated.gate.set()
    await driver.drain()
    assert store.orders[order.order_id].status is OrderStatus.CONFIRMED
    assert inventory.reserve_calls == [order.order_id]
