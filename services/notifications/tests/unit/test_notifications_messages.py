"""What customers read: one sentence per order event, in words, never raw codes."""

from __future__ import annotations

import uuid

import pytest

from bazaar_notifications.domain import (
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    ORDER_REJECTED,
    NotificationKind,
    OrderEvent,
    UnreadableEvent,
    render_message,
)

ORDER = uuid.UUID("1234abcd-0000-4000-8000-000000000001")


def _event(event_type: str, event_data, **kwargs) -> OrderEvent:
    return OrderEvent.parse(str(uuid.uuid4()), event_type, event_data(event_type, **kwargs))


def test_confirmed_names_the_order_and_its_total(event_data) -> None:
    event = _event(ORDER_CONFIRMED, event_data, order_id=ORDER, total="59.97")
    assert event.kind is NotificationKind.ORDER_CONFIRMED
    assert render_message(event) == "Your order 1234abcd is confirmed: total USD 59.97."


def test_amounts_always_show_cents(event_data) -> None:
    event = _event(ORDER_CONFIRMED, event_data, order_id=ORDER, total="60")
    assert render_message(event) == "Your order 1234abcd is confirmed: total USD 60.00."


def test_cancelled_says_what_is_refunded(event_data) -> None:
    event = _event(ORDER_CANCELLED, event_data, order_id=ORDER, total="19.99")
    assert event.kind is NotificationKind.ORDER_CANCELLED
    assert render_message(event) == (
        "Your order 1234abcd was cancelled; USD 19.99 will be refunded to your card."
    )


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("out_of_stock", "some of its items are out of stock"),
        ("payment_declined", "your payment was declined"),
        ("unknown_product", "some of its items are no longer sold"),
        ("timed_out", "we could not complete it in time"),
        ("a_reason_added_later", "we could not complete it"),
    ],
)
def test_rejection_reason_is_explained_in_words(event_data, reason: str, words: str) -> None:
    event = _event(ORDER_REJECTED, event_data, order_id=ORDER, reason=reason)
    message = render_message(event)
    assert message == (
        f"Your order 1234abcd could not be placed because {words}. You have not been charged."
    )
    assert reason not in message
    # The operator's detail may name internals; the customer never sees it.
    assert "409" not in message


def test_other_event_types_are_refused() -> None:
    with pytest.raises(UnreadableEvent, match="not notified"):
        OrderEvent.parse(str(uuid.uuid4()), "bazaar.orders.order.placed.v1", {})


@pytest.mark.parametrize(
    ("event_id", "data", "complaint"),
    [
        ("not-a-uuid", {"orderId": str(ORDER), "customerId": str(ORDER)}, "id is not a UUID"),
        (str(uuid.uuid4()), {"customerId": str(ORDER)}, "data.orderId is missing"),
        (str(uuid.uuid4()), {"orderId": str(ORDER), "customerId": 7}, "data.customerId"),
    ],
)
def test_unusable_ids_are_refused(event_id: str, data: dict, complaint: str) -> None:
    with pytest.raises(UnreadableEvent, match=complaint):
        OrderEvent.parse(event_id, ORDER_REJECTED, data)


@pytest.mark.parametrize("total", ["lots", "NaN", None])
def test_confirmation_without_a_usable_total_is_refused(event_data, total) -> None:
    data = event_data(ORDER_CONFIRMED, order_id=ORDER)
    data["totalAmount"] = total
    event = OrderEvent.parse(str(uuid.uuid4()), ORDER_CONFIRMED, data)
    with pytest.raises(UnreadableEvent, match="totalAmount"):
        render_message(event)
