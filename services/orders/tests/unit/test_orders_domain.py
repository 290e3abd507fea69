"""The Order aggregate: pricing arithmetic, line rules and status transitions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bazaar_orders.domain import (
    MAX_LINES,
    DuplicateProducts,
    InvalidOrder,
    InvalidTransition,
    MixedCurrencies,
    Order,
    OrderStatus,
    OrderTotalTooLarge,
    Price,
    RejectionReason,
    RequestedLine,
    UnknownProducts,
    check_requested_lines,
)

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _place(requested: list[RequestedLine], prices: dict[uuid.UUID, Price]) -> Order:
    return Order.place(
        order_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        requested=requested,
        prices=prices,
        now=NOW,
    )


def test_a_placed_order_is_pending_and_priced_exactly() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    order = _place(
        [RequestedLine(a, 3), RequestedLine(b, 7)],
        {a: Price(Decimal("19.99"), "USD"), b: Price(Decimal("0.10"), "USD")},
    )

    assert order.status is OrderStatus.PENDING
    assert [line.line_total for line in order.lines] == [Decimal("59.97"), Decimal("0.70")]
    assert order.total_amount == Decimal("60.67")
    assert str(order.total_amount) == "60.67"  # Decimal, not float: no 60.669999...
    assert order.currency == "USD"
    assert order.created_at == order.updated_at == NOW


def test_catalog_prices_with_more_than_two_decimals_are_rounded_half_up_to_cents() -> None:
    a = uuid.uuid4()
    order = _place([RequestedLine(a, 2)], {a: Price(Decimal("1.005"), "USD")})

    assert order.lines[0].unit_price == Decimal("1.01")
    assert order.total_amount == Decimal("2.02")


def test_unknown_products_are_named_in_request_order() -> None:
    known, x, y = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with pytest.raises(UnknownProducts) as caught:
        _place(
            [RequestedLine(x, 1), RequestedLine(known, 1), RequestedLine(y, 1)],
            {known: Price(Decimal("1.00"), "USD")},
        )
    assert caught.value.product_ids == (x, y)


def test_products_in_different_currencies_cannot_share_an_order() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(MixedCurrencies):
        _place(
            [RequestedLine(a, 1), RequestedLine(b, 1)],
            {a: Price(Decimal("1.00"), "USD"), b: Price(Decimal("1.00"), "EUR")},
        )


def test_a_total_that_numeric_10_2_cannot_hold_is_refused() -> None:
    a = uuid.uuid4()
    with pytest.raises(OrderTotalTooLarge):
        _place([RequestedLine(a, 100)], {a: Price(Decimal("9999999.99"), "USD")})


@pytest.mark.parametrize(
    "requested",
    [
        [],
        [RequestedLine(uuid.uuid4(), 1) for _ in range(MAX_LINES + 1)],
        [RequestedLine(uuid.uuid4(), 0)],
        [RequestedLine(uuid.uuid4(), 101)],
    ],
    ids=["no-lines", "51-lines", "quantity-0", "quantity-101"],
)
def test_line_rules(requested: list[RequestedLine]) -> None:
    with pytest.raises(InvalidOrder):
        check_requested_lines(requested)


def test_duplicate_products_are_named_once_each() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(DuplicateProducts) as caught:
        check_requested_lines(
            [RequestedLine(a, 1), RequestedLine(b, 1), RequestedLine(a, 2), RequestedLine(a, 3)]
        )
    assert caught.value.product_ids == (a,)


def test_fifty_lines_of_quantities_1_and_100_are_fine() -> None:
    check_requested_lines([RequestedLine(uuid.uuid4(), 1 + 99 * (i % 2)) for i in range(MAX_LINES)])


def _pending() -> Order:
    a = uuid.uuid4()
    return _place([RequestedLine(a, 1)], {a: Price(Decimal("5.00"), "USD")})


@pytest.mark.parametrize(
    ("move", "target"),
    [
        (Order.confirm, OrderStatus.CONFIRMED),
        (lambda order, now: order.reject(now, RejectionReason.OUT_OF_STOCK), OrderStatus.REJECTED),
        (Order.cancel, OrderStatus.CANCELLED),
    ],
)
def test_pending_can_move_to_every_outcome(move, target) -> None:  # type: ignore[no-untyped-def]
    order = _pending()
    later = NOW + timedelta(seconds=5)
    move(order, later)
    assert (order.rejection_reason is not None) == (target is OrderStatus.REJECTED)
    assert order.status is target
    assert order.updated_at == later
    assert order.created_at == NOW


def test_a_confirmed_order_can_be_cancelled_but_not_rejected_or_reconfirmed() -> None:
    order = _pending()
    order.confirm(NOW)
    with pytest.raises(InvalidTransition):
        order.reject(NOW, RejectionReason.TIMED_OUT)
    with pytest.raises(InvalidTransition):
        order.confirm(NOW)
    assert order.rejection_reason is None
    order.cancel(NOW)
    assert order.status is OrderStatus.CANCELLED


@pytest.mark.parametrize("final", [OrderStatus.REJECTED, OrderStatus.CANCELLED])
def test_rejected_and_cancelled_are_final(final: OrderStatus) -> None:
    order = _pending()
    if final is OrderStatus.REJECTED:
        order.reject(NOW, RejectionReason.PAYMENT_DECLINED)
    else:
        order.cancel(NOW)
    for target in OrderStatus:
        assert not order.can_become(target)
    with pytest.raises(InvalidTransition) as caught:
        order.confirm(NOW + timedelta(seconds=1))
    assert caught.value.current is final
    assert order.status is final
    assert order.updated_at == NOW
