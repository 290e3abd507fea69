"""Reservation rules against in-memory fakes: all or nothing, idempotency, release once."""

from __future__ import annotations

import uuid

import pytest

from bazaar_products import services
from bazaar_products.domain import (
    InsufficientStock,
    InvalidReservation,
    ReservationLine,
    ReservationMismatch,
    ReservationNotFound,
    ReservationReleased,
    ReservationStatus,
    UnknownProducts,
)


async def test_reserve_takes_every_line(store) -> None:
    mug, pen = store.put("Mug", 5), store.put("Pen", 3)
    order = uuid.uuid4()

    outcome = await services.reserve_stock(
        store.uow, order, [ReservationLine(mug, 2), ReservationLine(pen, 3)]
    )

    assert outcome.created
    assert outcome.reservation.status is ReservationStatus.RESERVED
    assert set(outcome.reservation.lines) == {ReservationLine(mug, 2), ReservationLine(pen, 3)}
    assert (store.inventory(mug), store.inventory(pen)) == (3, 0)


async def test_one_short_line_takes_nothing(store) -> None:
    plenty, scarce = store.put("Plenty", 10), store.put("Scarce", 1)
    order = uuid.uuid4()

    with pytest.raises(InsufficientStock) as caught:
        await services.reserve_stock(
            store.uow, order, [ReservationLine(plenty, 4), ReservationLine(scarce, 2)]
        )

    assert caught.value.product_ids == [scarce]
    assert (store.inventory(plenty), store.inventory(scarce)) == (10, 1)
    assert order not in store.reservations


async def test_every_short_line_is_named(store) -> None:
    a, b = store.put("A", 0), store.put("B", 1)
    with pytest.raises(InsufficientStock) as caught:
        await services.reserve_stock(
            store.uow, uuid.uuid4(), [ReservationLine(a, 1), ReservationLine(b, 2)]
        )
    assert caught.value.product_ids == sorted([a, b])


async def test_unknown_product_takes_nothing(store) -> None:
    known, unknown = store.put("Known", 10), uuid.uuid4()
    order = uuid.uuid4()

    with pytest.raises(UnknownProducts) as caught:
        await services.reserve_stock(
            store.uow, order, [ReservationLine(known, 1), ReservationLine(unknown, 1)]
        )

    assert caught.value.product_ids == [unknown]
    assert store.inventory(known) == 10
    assert order not in store.reservations


async def test_repeat_with_same_items_takes_stock_once(store) -> None:
    mug, pen = store.put("Mug", 5), store.put("Pen", 5)
    order = uuid.uuid4()
    lines = [ReservationLine(mug, 2), ReservationLine(pen, 1)]

    first = await services.reserve_stock(store.uow, order, lines)
    again = await services.reserve_stock(store.uow, order, list(reversed(lines)))

    assert first.created
    assert not again.created
    assert again.reservation == first.reservation
    assert (store.inventory(mug), store.inventory(pen)) == (3, 4)


async def test_repeat_with_other_items_is_a_mismatch(store) -> None:
    mug = store.put("Mug", 5)
    order = uuid.uuid4()
    await services.reserve_stock(store.uow, order, [ReservationLine(mug, 2)])

    with pytest.raises(ReservationMismatch):
        await services.reserve_stock(store.uow, order, [ReservationLine(mug, 3)])

    assert store.inventory(mug) == 3


async def test_release_restores_exactly_once(store) -> None:
    mug, pen = store.put("Mug", 5), store.put("Pen", 5)
    order = uuid.uuid4()
    await services.reserve_stock(
        store.uow, order, [ReservationLine(mug, 2), ReservationLine(pen, 5)]
    )

    first = await services.release_stock(store.uow, order)
    again = await services.release_stock(store.uow, order)

    assert first.status is ReservationStatus.RELEASED
    assert again == first
    assert set(first.lines) == {ReservationLine(mug, 2), ReservationLine(pen, 5)}
    assert (store.inventory(mug), store.inventory(pen)) == (5, 5)


async def test_reserve_after_release_is_refused(store) -> None:
    mug = store.put("Mug", 5)
    order = uuid.uuid4()
    await services.reserve_stock(store.uow, order, [ReservationLine(mug, 2)])
    await services.release_stock(store.uow, order)

    with pytest.raises(ReservationReleased):
        await services.reserve_stock(store.uow, order, [ReservationLine(mug, 2)])

    assert store.inventory(mug) == 5


async def test_release_of_unknown_order_leaves_a_tombstone(store) -> None:
    mug = store.put("Mug", 5)
    order = uuid.uuid4()

    tombstone = await services.release_stock(store.uow, order)

    assert tombstone.status is ReservationStatus.RELEASED
    assert tombstone.lines == ()
    with pytest.raises(ReservationReleased):
        await services.reserve_stock(store.uow, order, [ReservationLine(mug, 1)])
    assert store.inventory(mug) == 5
    assert (await services.get_reservation(store.uow, order)) == tombstone


async def test_get_reservation_of_unknown_order(store) -> None:
    with pytest.raises(ReservationNotFound):
        await services.get_reservation(store.uow, uuid.uuid4())


@pytest.mark.parametrize(
    "quantities",
    [
        pytest.param([], id="no lines"),
        pytest.param([1] * 51, id="51 lines"),
        pytest.param([0], id="zero quantity"),
        pytest.param([101], id="quantity over 100"),
    ],
)
async def test_malformed_reservations_are_refused(store, quantities: list[int]) -> None:
    lines = [ReservationLine(store.put(f"P{i}", 500), q) for i, q in enumerate(quantities)]
    with pytest.raises(InvalidReservation):
        await services.reserve_stock(store.uow, uuid.uuid4(), lines)
    assert store.commits == 0


async def test_duplicate_product_lines_are_refused(store) -> None:
    mug = store.put("Mug", 5)
    with pytest.raises(InvalidReservation, match="more than one line"):
        await services.reserve_stock(
            store.uow, uuid.uuid4(), [ReservationLine(mug, 1), ReservationLine(mug, 2)]
        )
    assert store.inventory(mug) == 5
