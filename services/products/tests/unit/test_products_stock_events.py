"""Stock events: announced with the change that caused them, never on a repeat or a failure."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bazaar_products import services
from bazaar_products.domain import (
    InsufficientStock,
    ReservationLine,
    ReservationReleased,
    StockReleased,
    StockReserved,
    UnknownProducts,
)
from bazaar_products.stock_events import STOCK_RELEASED, STOCK_RESERVED, to_cloud_event
from chassis import EventSchemas

EVENT_SCHEMAS_DIR = Path(__file__).resolve().parents[4] / "contracts" / "events"


async def test_a_new_reservation_announces_its_lines(store) -> None:
    mug, pen = store.put("Mug", 5), store.put("Pen", 5)
    order = uuid.uuid4()
    lines = [ReservationLine(pen, 1), ReservationLine(mug, 2)]

    await services.reserve_stock(store.uow, order, lines)

    assert store.events == [StockReserved(order, tuple(sorted(lines)))]


async def test_a_repeat_announces_nothing(store) -> None:
    mug = store.put("Mug", 5)
    order = uuid.uuid4()
    await services.reserve_stock(store.uow, order, [ReservationLine(mug, 2)])

    outcome = await services.reserve_stock(store.uow, order, [ReservationLine(mug, 2)])

    assert not outcome.created
    assert [type(e) for e in store.events] == [StockReserved]


async def test_refused_reservations_announce_nothing(store) -> None:
    scarce = store.put("Scarce", 1)
    with pytest.raises(InsufficientStock):
        await services.reserve_stock(store.uow, uuid.uuid4(), [ReservationLine(scarce, 2)])
    with pytest.raises(UnknownProducts):
        await services.reserve_stock(store.uow, uuid.uuid4(), [ReservationLine(uuid.uuid4(), 1)])
    assert store.events == []


async def test_a_release_that_restores_stock_announces_it_once(store) -> None:
    mug = store.put("Mug", 5)
    order = uuid.uuid4()
    await services.reserve_stock(store.uow, order, [ReservationLine(mug, 3)])

    await services.release_stock(store.uow, order)
    await services.release_stock(store.uow, order)  # a repeat: nothing more to give back

    assert store.events == [
        StockReserved(order, (ReservationLine(mug, 3),)),
        StockReleased(order, (ReservationLine(mug, 3),)),
    ]
    assert store.inventory(mug) == 5


async def test_a_tombstone_announces_nothing(store) -> None:
    mug = store.put("Mug", 5)
    order = uuid.uuid4()

    await services.release_stock(store.uow, order)
    with pytest.raises(ReservationReleased):
        await services.reserve_stock(store.uow, order, [ReservationLine(mug, 1)])

    assert store.events == []


def test_on_the_wire_events_follow_the_contract() -> None:
    schemas = EventSchemas.load(EVENT_SCHEMAS_DIR)
    order, product = uuid.uuid4(), uuid.uuid4()
    lines = (ReservationLine(product, 2),)
    for event, event_type in (
        (StockReserved(order, lines), STOCK_RESERVED),
        (StockReleased(order, lines), STOCK_RELEASED),
    ):
        wire = to_cloud_event(event)
        assert (wire.type, wire.source, wire.subject) == (
            event_type,
            "/bazaar/products",
            str(order),
        )
        assert wire.data == {
            "orderId": str(order),
            "items": [{"productId": str(product), "quantity": 2}],
        }
        schemas.validate(wire)  # raises InvalidEvent naming the first violation
