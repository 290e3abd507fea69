"""Capture, void and refund from every state, against in-memory fakes of the service's ports."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from bazaar_payments import services
from bazaar_payments.domain import (
    AuthorizationRequest,
    Declined,
    InvalidPaymentState,
    OperationKind,
    Payment,
    PaymentNotFound,
    PaymentStatus,
)
from chassis import EventSchemas

CUSTOMER = uuid.UUID("00000000-0000-4000-8000-00000000c001")
Action = Callable[..., Awaitable[Payment]]
ACTIONS: dict[str, Action] = {
    "capture": services.capture,
    "void": services.void,
    "refund": services.refund,
}
# (action, from status) → the status it lands in, or None for "refused".
OUTCOMES: dict[tuple[str, PaymentStatus], PaymentStatus | None] = {
    ("capture", PaymentStatus.AUTHORIZED): PaymentStatus.CAPTURED,
    ("capture", PaymentStatus.CAPTURED): PaymentStatus.CAPTURED,
    ("capture", PaymentStatus.DECLINED): None,
    ("capture", PaymentStatus.VOIDED): None,
    ("capture", PaymentStatus.REFUNDED): None,
    ("void", PaymentStatus.AUTHORIZED): PaymentStatus.VOIDED,
    ("void", PaymentStatus.VOIDED): PaymentStatus.VOIDED,
    ("void", PaymentStatus.CAPTURED): None,
    ("void", PaymentStatus.DECLINED): None,
    ("void", PaymentStatus.REFUNDED): None,
    ("refund", PaymentStatus.CAPTURED): PaymentStatus.REFUNDED,
    ("refund", PaymentStatus.REFUNDED): PaymentStatus.REFUNDED,
    ("refund", PaymentStatus.AUTHORIZED): None,
    ("refund", PaymentStatus.DECLINED): None,
    ("refund", PaymentStatus.VOIDED): None,
}
EVENT_TYPES = {
    "capture": "bazaar.payments.payment.captured.v1",
    "void": "bazaar.payments.payment.voided.v1",
    "refund": "bazaar.payments.payment.refunded.v1",
}
ACTIONS_TARGET = {
    "capture": PaymentStatus.CAPTURED,
    "void": PaymentStatus.VOIDED,
    "refund": PaymentStatus.REFUNDED,
}
LEDGER_KINDS = {
    "capture": OperationKind.CAPTURE,
    "void": OperationKind.VOID,
    "refund": OperationKind.REFUND,
}


async def _payment_in(status: PaymentStatus, store: Any, processor: Any) -> uuid.UUID:
    """An order whose payment got to ``status`` the way real ones do."""
    order_id = uuid.uuid4()
    if status is PaymentStatus.DECLINED:
        processor.decision = Declined("card_declined")
    request = AuthorizationRequest(order_id, CUSTOMER, Decimal("10.00"), "USD", "tok_visa")
    await services.authorize(request, processor=processor, uow=store)
    if status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED):
        await services.capture(order_id, uow=store)
    if status is PaymentStatus.REFUNDED:
        await services.refund(order_id, uow=store)
    if status is PaymentStatus.VOIDED:
        await services.void(order_id, uow=store)
    assert store.payments[order_id].status is status
    return order_id


@pytest.mark.parametrize(
    ("action", "source", "target"),
    [(a, s, t) for (a, s), t in OUTCOMES.items()],
    ids=[f"{a}-from-{s}" for a, s in OUTCOMES],
)
async def test_each_action_from_each_state(
    action: str,
    source: PaymentStatus,
    target: PaymentStatus | None,
    store: Any,
    processor: Any,
    event_schemas: EventSchemas,
) -> None:
    order_id = await _payment_in(source, store, processor)
    before = store.payments[order_id]
    operations, events, commits = list(store.operations), list(store.events), store.commits

    if target is None:
        with pytest.raises(InvalidPaymentState) as refused:
            await ACTIONS[action](order_id, uow=store)
        assert (refused.value.status, refused.value.wanted) == (source, ACTIONS_TARGET[action])
        assert store.payments[order_id] == before
        assert (store.operations, store.events, store.commits) == (operations, events, commits)
        return

    payment = await ACTIONS[action](order_id, uow=store)

    assert payment.status is target
    assert store.payments[order_id] == payment
    if source is target:  # an idempotent repeat
        assert payment == before
        assert (store.operations, store.events, store.commits) == (operations, events, commits)
        return
    # One transition: one ledger row, exactly one event of its type, one commit.
    [operation] = store.operations[len(operations) :]
    assert (operation.payment_id, operation.kind, operation.amount) == (
        payment.payment_id,
        LEDGER_KINDS[action],
        Decimal("10.00"),
    )
    [event] = store.events[len(events) :]
    assert event.type == EVENT_TYPES[action]
    assert event.subject == str(order_id)
    assert event.data == {
        "paymentId": str(payment.payment_id),
        "orderId": str(order_id),
        "amount": "10.00",
        "currency": "USD",
    }
    event_schemas.validate(event)
    assert store.commits == commits + 1


@pytest.mark.parametrize("action", ["capture", "refund"])
async def test_capture_and_refund_of_an_unknown_order_are_not_found(
    action: str, store: Any
) -> None:
    with pytest.raises(PaymentNotFound):
        await ACTIONS[action](uuid.uuid4(), uow=store)
    assert (store.payments, store.commits) == ({}, 0)


async def test_voiding_an_unknown_order_leaves_a_moneyless_tombstone_without_an_event(
    store: Any,
) -> None:
    order_id = uuid.uuid4()

    tombstone = await services.void(order_id, uow=store)

    assert tombstone.status is PaymentStatus.VOIDED
    assert tombstone.is_tombstone
    assert (tombstone.customer_id, tombstone.amount, tombstone.currency) == (None, None, None)
    assert store.payments == {order_id: tombstone}
    # No money moved, so there is nothing for the ledger or for subscribers.
    assert (store.operations, store.events) == ([], [])

    again = await services.void(order_id, uow=store)
    assert again == tombstone
    assert store.commits == 1


@pytest.mark.parametrize("action", ["capture", "refund"])
async def test_a_tombstone_can_be_neither_captured_nor_refunded(action: str, store: Any) -> None:
    order_id = uuid.uuid4()
    await services.void(order_id, uow=store)

    with pytest.raises(InvalidPaymentState):
        await ACTIONS[action](order_id, uow=store)
    assert store.commits == 1


async def test_the_ledger_of_a_full_lifecycle_nets_to_zero(store: Any, processor: Any) -> None:
    order_id = await _payment_in(PaymentStatus.REFUNDED, store, processor)
    payment_id = store.payments[order_id].payment_id

    kinds = [(o.kind, o.amount) for o in store.operations if o.payment_id == payment_id]
    assert kinds == [
        (OperationKind.AUTHORIZE, Decimal("10.00")),
        (OperationKind.CAPTURE, Decimal("10.00")),
        (OperationKind.REFUND, Decimal("10.00")),
    ]
    assert [e.type for e in store.events] == [
        "bazaar.payments.payment.authorized.v1",
        "bazaar.payments.payment.captured.v1",
        "bazaar.payments.payment.refunded.v1",
    ]
