"""The placement use case against in-memory fakes of the orders service's own ports."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bazaar_orders import services
from bazaar_orders.domain import (
    DependencyUnavailable,
    DuplicateProducts,
    InsufficientStock,
    Order,
    OrderNotFound,
    OrderStatus,
    RequestedLine,
    UnknownProducts,
)

CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _ticking_clock() -> Callable[[], datetime]:
    ticks = itertools.count()
    start = datetime(2025, 3, 1, tzinfo=UTC)
    return lambda: start + timedelta(milliseconds=next(ticks))


async def _place(
    catalog: Any, inventory: Any, store: Any, *lines: tuple[uuid.UUID, int], **kwargs: Any
) -> Order:
    return await services.place_order(
        kwargs.pop("customer", CUSTOMER),
        [RequestedLine(p, q) for p, q in lines],
        catalog=catalog,
        inventory=inventory,
        uow=store,
        **kwargs,
    )


async def test_placing_prices_from_the_catalog_reserves_and_stores_confirmed(
    catalog: Any, inventory: Any, store: Any
) -> None:
    mug, pen = catalog.add("19.99"), catalog.add("5.00")
    inventory.stock_up(mug, 10)
    inventory.stock_up(pen, 1)

    order = await _place(catalog, inventory, store, (mug, 3), (pen, 1))

    assert order.status is OrderStatus.CONFIRMED
    assert order.total_amount == Decimal("64.97")
    assert [(x.product_id, x.quantity, x.unit_price) for x in order.lines] == [
        (mug, 3, Decimal("19.99")),
        (pen, 1, Decimal("5.00")),
    ]
    assert order.lines[0].line_total == Decimal("59.97")
    assert store.orders == {order.order_id: order}
    assert inventory.reservations[order.order_id] == (RequestedLine(mug, 3), RequestedLine(pen, 1))
    assert inventory.stock == {mug: 7, pen: 0}
    assert inventory.release_calls == []


async def test_ten_lines_of_a_third_of_a_dollar_add_up_in_decimal(
    catalog: Any, inventory: Any, store: Any
) -> None:
    products = [catalog.add("0.10") for _ in range(3)] + [catalog.add("0.20")]
    for p in products:
        inventory.stock_up(p, 100)

    order = await _place(catalog, inventory, store, *((p, 1) for p in products))

    # 0.1 + 0.1 + 0.1 + 0.2 is 0.5000000000000001 in binary floating point.
    assert order.total_amount == Decimal("0.50")


async def test_unknown_products_are_named_and_nothing_is_reserved_or_stored(
    catalog: Any, inventory: Any, store: Any
) -> None:
    known = catalog.add("1.00")
    inventory.stock_up(known, 5)
    ghost_1, ghost_2 = uuid.uuid4(), uuid.uuid4()

    with pytest.raises(UnknownProducts) as caught:
        await _place(catalog, inventory, store, (ghost_1, 1), (known, 1), (ghost_2, 2))

    assert caught.value.product_ids == (ghost_1, ghost_2)
    assert store.orders == {}
    assert inventory.reservations == {}
    assert inventory.stock == {known: 5}


async def test_insufficient_stock_names_the_short_lines_and_leaves_nothing_behind(
    catalog: Any, inventory: Any, store: Any
) -> None:
    plenty, scarce = catalog.add("2.00"), catalog.add("3.00")
    inventory.stock_up(plenty, 10)
    inventory.stock_up(scarce, 1)

    with pytest.raises(InsufficientStock) as caught:
        await _place(catalog, inventory, store, (plenty, 2), (scarce, 2))

    assert caught.value.product_ids == (scarce,)
    assert store.orders == {}
    assert inventory.held() == {}
    assert inventory.stock == {plenty: 10, scarce: 1}


async def test_a_failed_store_releases_the_reservation(
    catalog: Any, inventory: Any, store: Any
) -> None:
    mug = catalog.add("19.99")
    inventory.stock_up(mug, 4)
    store.fail_on_commit = True

    with pytest.raises(DependencyUnavailable) as caught:
        await _place(catalog, inventory, store, (mug, 3))

    assert caught.value.dependency == "orders-database"
    assert store.orders == {}
    assert len(inventory.release_calls) == 1
    assert inventory.held() == {}
    assert inventory.stock == {mug: 4}


async def test_a_failing_release_does_not_hide_why_the_order_failed(
    catalog: Any, inventory: Any, store: Any
) -> None:
    mug = catalog.add("19.99")
    inventory.stock_up(mug, 4)
    store.fail_on_commit = True
    inventory.release_fails = True

    with pytest.raises(DependencyUnavailable) as caught:
        await _place(catalog, inventory, store, (mug, 1))

    assert caught.value.dependency == "orders-database"
    assert isinstance(caught.value.__cause__, ConnectionResetError)
    assert store.orders == {}


async def test_catalog_unavailable_means_no_reservation_and_no_order(
    catalog: Any, inventory: Any, store: Any
) -> None:
    mug = catalog.add("19.99")
    inventory.stock_up(mug, 4)
    catalog.unavailable = True

    with pytest.raises(DependencyUnavailable):
        await _place(catalog, inventory, store, (mug, 1))

    assert store.orders == {}
    assert inventory.reservations == {}
    assert inventory.release_calls == []


@pytest.mark.parametrize("failure", ["down", "lost-answer"])
async def test_an_unknown_reservation_outcome_is_released_and_nothing_stored(
    catalog: Any, inventory: Any, store: Any, failure: str
) -> None:
    mug = catalog.add("19.99")
    inventory.stock_up(mug, 4)
    inventory.reserve_failure = failure

    with pytest.raises(DependencyUnavailable):
        await _place(catalog, inventory, store, (mug, 2))

    assert store.orders == {}
    assert len(inventory.release_calls) == 1
    assert inventory.held() == {}
    assert inventory.stock == {mug: 4}
    # The tombstone: a reservation arriving late for this order id can no longer take stock.
    inventory.reserve_failure = None
    await inventory.reserve(inventory.release_calls[0], [RequestedLine(mug, 2)])
    assert inventory.stock == {mug: 4}


async def test_duplicates_are_refused_before_any_call(
    catalog: Any, inventory: Any, store: Any
) -> None:
    mug = catalog.add("19.99")
    inventory.stock_up(mug, 4)

    with pytest.raises(DuplicateProducts) as caught:
        await _place(catalog, inventory, store, (mug, 1), (mug, 2))

    assert caught.value.product_ids == (mug,)
    assert catalog.calls == 0
    assert inventory.reservations == {}
    assert store.orders == {}


async def test_get_order_hides_other_customers_orders(
    catalog: Any, inventory: Any, store: Any
) -> None:
    mug = catalog.add("19.99")
    inventory.stock_up(mug, 4)
    order = await _place(catalog, inventory, store, (mug, 1))

    assert await services.get_order(CUSTOMER, order.order_id, uow=store) == order
    with pytest.raises(OrderNotFound):
        await services.get_order(uuid.uuid4(), order.order_id, uow=store)
    with pytest.raises(OrderNotFound):
        await services.get_order(CUSTOMER, uuid.uuid4(), uow=store)


async def test_list_orders_pages_newest_first_through_own_orders_only(
    catalog: Any, inventory: Any, store: Any
) -> None:
    mug = catalog.add("1.00")
    inventory.stock_up(mug, 100)
    clock = _ticking_clock()
    mine = [
        (await _place(catalog, inventory, store, (mug, 1), clock=clock)).order_id for _ in range(5)
    ]
    await _place(catalog, inventory, store, (mug, 1), clock=clock, customer=uuid.uuid4())

    seen: list[uuid.UUID] = []
    after = None
    pages = 0
    while True:
        page = await services.list_orders(CUSTOMER, limit=2, after=after, uow=store)
        seen += [o.order_id for o in page.orders]
        pages += 1
        if page.next_position is None:
            break
        after = page.next_position

    assert seen == list(reversed(mine))
    assert pages == 3
