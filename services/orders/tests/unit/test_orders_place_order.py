"""Placing an order (PENDING + saga + OrderPlaced + idempotency key, one transaction), reading
and listing orders, against in-memory fakes of the orders service's own ports."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bazaar_orders import services
from bazaar_orders.domain import (
    DependencyUnavailable,
    DuplicateProducts,
    IdempotencyKeyReused,
    OrderNotFound,
    OrderStatus,
    RequestedLine,
    UnknownProducts,
)
from bazaar_orders.order_events import ORDER_PLACED
from bazaar_orders.placement import place_order, request_hash
from bazaar_orders.saga import SagaState

CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")


async def test_placing_stores_a_priced_pending_order_with_its_saga_and_event(
    catalog: Any, inventory: Any, payments: Any, store: Any, clock: Any, place: Any
) -> None:
    mug, pen = catalog.add("19.99"), catalog.add("5.00")

    order = await place((mug, 3), (pen, 1), token="tok_mastercard")

    assert order.status is OrderStatus.PENDING
    assert order.total_amount == Decimal("64.97")
    assert [(x.product_id, x.quantity, x.unit_price) for x in order.lines] == [
        (mug, 3, Decimal("19.99")),
        (pen, 1, Decimal("5.00")),
    ]
    assert store.orders == {order.order_id: order}
    assert store.commits == 1  # order, saga and event: one transaction
    saga = store.saga(order.order_id)
    assert saga.state is SagaState.RESERVING
    assert saga.payment_token == "tok_mastercard"
    assert saga.next_attempt_at == clock()
    assert saga.deadline_at == clock() + timedelta(seconds=900)
    [placed] = store.events
    assert placed.type == ORDER_PLACED
    assert placed.subject == str(order.order_id)
    assert placed.source == "/bazaar/orders"
    assert placed.data == {
        "orderId": str(order.order_id),
        "customerId": str(CUSTOMER),
        "totalAmount": "64.97",
        "currency": "USD",
        "items": [
            {"productId": str(mug), "quantity": 3, "unitPrice": "19.99"},
            {"productId": str(pen), "quantity": 1, "unitPrice": "5.00"},
        ],
    }
    # Nothing is reserved or charged by placing: that is the saga's work.
    assert inventory.reserve_calls == []
    assert payments.calls == []


async def test_ten_lines_of_a_third_of_a_dollar_add_up_in_decimal(catalog: Any, place: Any) -> None:
    products = [catalog.add("0.10") for _ in range(3)] + [catalog.add("0.20")]

    order = await place(*((p, 1) for p in products))

    # 0.1 + 0.1 + 0.1 + 0.2 is 0.5000000000000001 in binary floating point.
    assert order.total_amount == Decimal("0.50")


async def test_unknown_products_are_named_and_nothing_is_stored(
    catalog: Any, store: Any, place: Any
) -> None:
    known = catalog.add("1.00")
    ghost_1, ghost_2 = uuid.uuid4(), uuid.uuid4()

    with pytest.raises(UnknownProducts) as caught:
        await place((ghost_1, 1), (known, 1), (ghost_2, 2))

    assert caught.value.product_ids == (ghost_1, ghost_2)
    assert (store.orders, store.sagas, store.events) == ({}, {}, [])


async def test_a_failed_store_is_unavailable_and_leaves_nothing(
    catalog: Any, store: Any, place: Any
) -> None:
    mug = catalog.add("19.99")
    store.fail_on_commit = True

    with pytest.raises(DependencyUnavailable) as caught:
        await place((mug, 3), key="k-1")

    assert caught.value.dependency == "orders-database"
    assert (store.orders, store.sagas, store.events, store.keys) == ({}, {}, [], {})


async def test_catalog_unavailable_means_no_order(catalog: Any, store: Any, place: Any) -> None:
    mug = catalog.add("19.99")
    catalog.unavailable = True

    with pytest.raises(DependencyUnavailable):
        await place((mug, 1))

    assert (store.orders, store.events) == ({}, [])


async def test_duplicates_are_refused_before_any_call(catalog: Any, store: Any, place: Any) -> None:
    mug = catalog.add("19.99")

    with pytest.raises(DuplicateProducts) as caught:
        await place((mug, 1), (mug, 2))

    assert caught.value.product_ids == (mug,)
    assert catalog.calls == 0
    assert store.orders == {}


async def test_the_same_key_and_request_gives_back_the_same_order_and_writes_nothing(
    catalog: Any, store: Any, clock: Any
) -> None:
    mug = catalog.add("2.50")
    lines = [RequestedLine(mug, 2)]

    async def attempt() -> Any:
        return await place_order(
            CUSTOMER,
            lines,
            payment_token="tok_visa",
            idempotency_key="retry-me",
            catalog=catalog,
            uow=store,
            clock=clock,
        )

    first = await attempt()
    commits, events = store.commits, list(store.events)
    catalog.unavailable = True  # a replay answers even while the catalog is down
    second = await attempt()

    assert (first.replayed, second.replayed) == (False, True)
    assert second.order == first.order
    assert (store.commits, store.events) == (commits, events)
    assert len(store.orders) == 1


@pytest.mark.parametrize(
    "change", ["quantity", "product", "token", "line-order"], ids=lambda c: str(c)
)
async def test_the_same_key_with_another_request_is_refused(
    catalog: Any, store: Any, place: Any, change: str
) -> None:
    mug, pen = catalog.add("1.00"), catalog.add("2.00")
    await place((mug, 1), (pen, 1), key="once")
    other = {
        "quantity": {"lines": [(mug, 2), (pen, 1)]},
        "product": {"lines": [(mug, 1), (catalog.add("3.00"), 1)]},
        "token": {"lines": [(mug, 1), (pen, 1)], "token": "tok_mastercard"},
        "line-order": {"lines": [(pen, 1), (mug, 1)]},
    }[change]
    commits = store.commits

    with pytest.raises(IdempotencyKeyReused):
        await place(*other["lines"], key="once", token=other.get("token", "tok_visa"))

    assert store.commits == commits
    assert len(store.orders) == 1


async def test_keys_belong_to_one_customer(catalog: Any, store: Any, place: Any) -> None:
    mug = catalog.add("1.00")

    mine = await place((mug, 1), key="shared")
    theirs = await place((mug, 1), key="shared", customer=uuid.uuid4())

    assert mine.order_id != theirs.order_id
    assert len(store.orders) == 2


async def test_losing_a_race_for_the_key_answers_with_the_winners_order(
    catalog: Any, store: Any, place: Any
) -> None:
    mug = catalog.add("1.00")
    winner = await place((mug, 1), key="race")
    # As if our pre-check ran before the winner committed: the key insert itself must notice.
    fingerprint = request_hash([RequestedLine(mug, 1)], "tok_visa")
    assert store.keys[CUSTOMER, "race"].request_hash == fingerprint
    saved = dict(store.keys)
    store.keys.clear()

    class _Racing:
        """The first transaction (the pre-check) sees no key; later ones see the winner's."""

        def __init__(self) -> None:
            self.opened = 0

        def __call__(self) -> Any:
            self.opened += 1
            if self.opened == 2:
                store.keys.update(saved)
            return store()

    placed = await place_order(
        CUSTOMER,
        [RequestedLine(mug, 1)],
        payment_token="tok_visa",
        idempotency_key="race",
        catalog=catalog,
        uow=_Racing(),
        clock=store.clock,
    )

    assert placed.replayed
    assert placed.order == winner
    assert list(store.orders) == [winner.order_id]


async def test_get_order_hides_other_customers_orders(catalog: Any, store: Any, place: Any) -> None:
    mug = catalog.add("19.99")
    order = await place((mug, 1))

    assert await services.get_order(CUSTOMER, order.order_id, uow=store) == order
    with pytest.raises(OrderNotFound):
        await services.get_order(uuid.uuid4(), order.order_id, uow=store)
    with pytest.raises(OrderNotFound):
        await services.get_order(CUSTOMER, uuid.uuid4(), uow=store)


async def test_list_orders_pages_newest_first_through_own_orders_only(
    catalog: Any, store: Any, clock: Any, place: Any
) -> None:
    mug = catalog.add("1.00")
    mine = []
    for _ in range(5):
        clock.advance(0.001)
        mine.append((await place((mug, 1))).order_id)
    await place((mug, 1), customer=uuid.uuid4())

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
