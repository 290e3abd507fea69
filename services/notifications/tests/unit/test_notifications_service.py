"""The use cases against an in-memory repository: one notification per event, own listing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from bazaar_notifications import services
from bazaar_notifications.cursors import decode_cursor, encode_cursor
from bazaar_notifications.domain import (
    ORDER_CONFIRMED,
    ORDER_REJECTED,
    NotificationKind,
    OrderEvent,
)

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _clock(start: datetime = T0):
    ticks = iter(range(1_000))
    return lambda: start + timedelta(seconds=next(ticks))


async def test_an_event_becomes_one_notification(repository, event_data) -> None:
    customer, order = uuid.uuid4(), uuid.uuid4()
    event = OrderEvent.parse(
        str(uuid.uuid4()),
        ORDER_CONFIRMED,
        event_data(ORDER_CONFIRMED, order_id=order, customer_id=customer),
    )

    recorded = await services.notify(event, repository, clock=lambda: T0)

    assert recorded is not None
    assert list(repository.rows.values()) == [recorded]
    assert (recorded.customer_id, recorded.order_id, recorded.event_id) == (
        customer,
        order,
        event.event_id,
    )
    assert recorded.kind is NotificationKind.ORDER_CONFIRMED
    assert recorded.created_at == T0
    assert "confirmed" in recorded.message


async def test_the_same_event_handled_twice_is_notified_once(repository, event_data) -> None:
    event_id = str(uuid.uuid4())
    data = event_data(ORDER_REJECTED, reason="payment_declined")

    first = await services.notify(OrderEvent.parse(event_id, ORDER_REJECTED, data), repository)
    second = await services.notify(OrderEvent.parse(event_id, ORDER_REJECTED, data), repository)

    assert first is not None
    assert second is None
    assert list(repository.rows.values()) == [first]


async def test_two_events_for_one_order_are_two_notifications(repository, event_data) -> None:
    order = uuid.uuid4()
    for _ in range(2):
        data = event_data(ORDER_CONFIRMED, order_id=order)
        await services.notify(
            OrderEvent.parse(str(uuid.uuid4()), ORDER_CONFIRMED, data), repository
        )
    assert len(repository.rows) == 2


async def test_listing_is_own_newest_first_and_pages(repository, repositories, event_data) -> None:
    me, someone_else = uuid.uuid4(), uuid.uuid4()
    clock = _clock()
    mine = []
    for customer in (me, someone_else, me, me, someone_else, me, me):
        data = event_data(ORDER_CONFIRMED, customer_id=customer)
        event = OrderEvent.parse(str(uuid.uuid4()), ORDER_CONFIRMED, data)
        recorded = await services.notify(event, repository, clock=clock)
        assert recorded is not None
        if customer == me:
            mine.append(recorded)

    seen = []
    after = None
    while True:
        page = await services.list_notifications(repositories, me, limit=2, after=after)
        seen.extend(page.items)
        if page.next_position is None:
            break
        # Through the cursor, exactly as a client would round-trip it.
        after = decode_cursor(encode_cursor(page.next_position))

    assert seen == list(reversed(mine))
    assert all(n.customer_id == me for n in seen)


async def test_a_page_that_ends_the_listing_has_no_next_position(
    repository, repositories, event_data
) -> None:
    me = uuid.uuid4()
    data = event_data(ORDER_CONFIRMED, customer_id=me)
    await services.notify(OrderEvent.parse(str(uuid.uuid4()), ORDER_CONFIRMED, data), repository)

    page = await services.list_notifications(repositories, me, limit=1, after=None)

    assert len(page.items) == 1
    assert page.next_position is None


async def test_nobody_else_sees_my_notifications(repository, repositories, event_data) -> None:
    data = event_data(ORDER_CONFIRMED)
    await services.notify(OrderEvent.parse(str(uuid.uuid4()), ORDER_CONFIRMED, data), repository)
    page = await services.list_notifications(repositories, uuid.uuid4(), limit=20, after=None)
    assert page.items == []
