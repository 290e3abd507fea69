"""Authorization against in-memory fakes of the payments service's own ports."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bazaar_payments import services
from bazaar_payments.domain import (
    AuthorizationRequest,
    Declined,
    InvalidPayment,
    OperationKind,
    Payment,
    PaymentMismatch,
    PaymentStatus,
    PaymentVoided,
    ProcessorUnavailable,
)
from chassis import EventSchemas

ORDER = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
CUSTOMER = uuid.UUID("00000000-0000-4000-8000-00000000c001")
NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


def _request(**changes: Any) -> AuthorizationRequest:
    fields: dict[str, Any] = {
        "order_id": ORDER,
        "customer_id": CUSTOMER,
        "amount": Decimal("59.97"),
        "currency": "USD",
        "payment_token": "tok_visa",
    }
    return AuthorizationRequest(**(fields | changes))


async def _authorize(
    store: Any, processor: Any, request: AuthorizationRequest | None = None
) -> Any:
    return await services.authorize(
        request or _request(), processor=processor, uow=store, clock=lambda: NOW
    )


async def test_an_approval_stores_authorized_with_its_ledger_row_and_event(
    store: Any, processor: Any, event_schemas: EventSchemas
) -> None:
    outcome = await _authorize(store, processor)

    payment = outcome.payment
    assert outcome.created is True
    assert payment.status is PaymentStatus.AUTHORIZED
    assert (payment.order_id, payment.customer_id) == (ORDER, CUSTOMER)
    assert (payment.amount, payment.currency, payment.decline_reason) == (
        Decimal("59.97"),
        "USD",
        None,
    )
    assert processor.calls == [("tok_visa", Decimal("59.97"))]
    assert store.payments == {ORDER: payment}
    assert [(o.kind, o.amount) for o in store.operations] == [
        (OperationKind.AUTHORIZE, Decimal("59.97"))
    ]
    [event] = store.events
    assert event.type == "bazaar.payments.payment.authorized.v1"
    assert event.source == "/bazaar/payments"
    assert event.subject == str(ORDER)
    assert event.data == {
        "paymentId": str(payment.payment_id),
        "orderId": str(ORDER),
        "amount": "59.97",
        "currency": "USD",
    }
    event_schemas.validate(event)
    assert store.commits == 1


async def test_a_decline_is_stored_with_its_reason_and_event_but_no_ledger_row(
    store: Any, processor: Any, event_schemas: EventSchemas
) -> None:
    processor.decision = Declined("insufficient_funds")

    outcome = await _authorize(store, processor, _request(payment_token="tok_insufficient_funds"))

    assert outcome.created is True
    assert outcome.payment.status is PaymentStatus.DECLINED
    assert outcome.payment.decline_reason == "insufficient_funds"
    assert store.payments == {ORDER: outcome.payment}
    assert store.operations == []
    [event] = store.events
    assert event.type == "bazaar.payments.payment.declined.v1"
    assert event.data["reason"] == "insufficient_funds"
    event_schemas.validate(event)


async def test_a_processor_error_stores_nothing(store: Any, processor: Any) -> None:
    processor.failure = ProcessorUnavailable("boom")

    with pytest.raises(ProcessorUnavailable):
        await _authorize(store, processor)

    assert (store.payments, store.operations, store.events, store.commits) == ({}, [], [], 0)


async def test_a_processor_that_never_answers_stores_nothing_when_the_caller_gives_up(
    store: Any, processor: Any
) -> None:
    processor.hang = True
    call = asyncio.create_task(_authorize(store, processor))
    await processor.called.wait()

    call.cancel()  # what a caller's timeout does to the request handling it

    with pytest.raises(asyncio.CancelledError):
        await call
    assert (store.payments, store.operations, store.events, store.commits) == ({}, [], [], 0)


async def test_a_repeat_answers_the_stored_payment_and_writes_nothing(
    store: Any, processor: Any
) -> None:
    first = await _authorize(store, processor)

    again = await _authorize(store, processor)

    assert again.created is False
    assert again.payment == first.payment
    assert len(processor.calls) == 1
    assert (len(store.operations), len(store.events), store.commits) == (1, 1, 1)


async def test_a_repeat_of_a_decline_is_declined_again_without_asking_the_processor(
    store: Any, processor: Any
) -> None:
    processor.decision = Declined("card_declined")
    first = await _authorize(store, processor, _request(payment_token="tok_decline"))
    processor.decision = Declined("something else now")

    again = await _authorize(store, processor, _request(payment_token="tok_decline"))

    assert (again.created, again.payment) == (False, first.payment)
    assert again.payment.decline_reason == "card_declined"
    assert len(processor.calls) == 1
    assert len(store.events) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"amount": Decimal("59.98")},
        {"payment_token": "tok_mastercard"},
        {"customer_id": uuid.UUID("00000000-0000-4000-8000-00000000c002")},
        {"currency": "EUR"},
    ],
    ids=["amount", "token", "customer", "currency"],
)
async def test_the_same_order_with_a_different_request_is_a_mismatch(
    store: Any, processor: Any, change: dict[str, Any]
) -> None:
    await _authorize(store, processor)

    with pytest.raises(PaymentMismatch):
        await _authorize(store, processor, _request(**change))

    assert len(processor.calls) == 1
    assert (len(store.operations), len(store.events), store.commits) == (1, 1, 1)


async def test_the_loser_of_a_race_answers_the_winners_payment_and_writes_nothing(
    store: Any, processor: Any
) -> None:
    winner = Payment.authorized_or_declined(
        _request(), payment_id=uuid.uuid4(), decline_reason=None, now=NOW
    )

    async def commit_the_winner() -> None:
        store.payments[ORDER] = winner

    processor.during_call = commit_the_winner

    outcome = await _authorize(store, processor)

    assert (outcome.created, outcome.payment) == (False, winner)
    assert (store.operations, store.events, store.commits) == ([], [], 0)


async def test_the_loser_of_a_race_with_a_different_request_gets_a_mismatch(
    store: Any, processor: Any
) -> None:
    winner = Payment.authorized_or_declined(
        _request(amount=Decimal("1.00")), payment_id=uuid.uuid4(), decline_reason=None, now=NOW
    )

    async def commit_the_winner() -> None:
        store.payments[ORDER] = winner

    processor.during_call = commit_the_winner

    with pytest.raises(PaymentMismatch):
        await _authorize(store, processor)
    assert store.payments == {ORDER: winner}
    assert store.events == []


async def test_a_void_tombstone_refuses_a_late_authorization(store: Any, processor: Any) -> None:
    await services.void(ORDER, uow=store)
    before = (len(store.events), store.commits)

    with pytest.raises(PaymentVoided):
        await _authorize(store, processor)

    assert processor.calls == []
    assert store.payments[ORDER].status is PaymentStatus.VOIDED
    assert (len(store.events), store.commits) == before


async def test_a_void_landing_during_the_processor_call_wins(store: Any, processor: Any) -> None:
    async def void_meanwhile() -> None:
        await services.void(ORDER, uow=store)

    processor.during_call = void_meanwhile

    with pytest.raises(PaymentVoided):
        await _authorize(store, processor)
    assert store.payments[ORDER].is_tombstone
    assert store.operations == []


async def test_a_real_voided_payment_answers_a_repeat_with_its_current_state(
    store: Any, processor: Any
) -> None:
    await _authorize(store, processor)
    voided = await services.void(ORDER, uow=store)

    again = await _authorize(store, processor)

    assert (again.created, again.payment) == (False, voided)


@pytest.mark.parametrize(
    "change",
    [
        {"amount": Decimal("0.00")},
        {"amount": Decimal("-1.00")},
        {"amount": Decimal("0.001")},
        {"amount": Decimal("100000000.00")},
        {"currency": "usd"},
        {"currency": "US"},
        {"payment_token": ""},
    ],
)
def test_requests_outside_the_rules_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayment):
        _request(**change)


def test_a_request_answers_only_its_own_payment() -> None:
    payment = Payment.authorized_or_declined(
        _request(), payment_id=uuid.uuid4(), decline_reason=None, now=NOW
    )
    assert payment.answers(_request())
    assert payment.answers(_request(amount=Decimal("59.970")))  # the same amount of money
    assert not payment.answers(_request(amount=Decimal("59.96")))
    assert not replace(payment, payment_token=None).answers(_request())
