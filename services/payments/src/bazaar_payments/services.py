"""Use cases. They take ports, raise domain errors, and know nothing of HTTP or SQL.

Every state change is one unit of work: the conditional row change, its ledger row and its
event in the outbox commit together or not at all; a repeat that changes nothing writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .domain import (
    CAPTURE,
    REFUND,
    VOID,
    Approved,
    AuthorizationRequest,
    InvalidPaymentState,
    OperationKind,
    Payment,
    PaymentMismatch,
    PaymentNotFound,
    PaymentStatus,
    PaymentVoided,
    Transition,
)
from .events import payment_event
from .ports import PaymentProcessor, UnitOfWork, UnitOfWorkFactory

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AuthorizeOutcome:
    payment: Payment
    created: bool


def _repeat_of(existing: Payment, request: AuthorizationRequest) -> AuthorizeOutcome:
    if existing.is_tombstone:
        raise PaymentVoided(request.order_id)
    if not existing.answers(request):
        raise PaymentMismatch(request.order_id)
    return AuthorizeOutcome(existing, created=False)


async def authorize(
    request: AuthorizationRequest,
    *,
    processor: PaymentProcessor,
    uow: UnitOfWorkFactory,
    clock: Clock = utc_now,
    new_payment_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> AuthorizeOutcome:
    """Authorizes once per order id; a repeat answers with the stored payment (also a decline).

    The processor is asked before any transaction opens, so no connection or lock is held
    across its latency; the unique order id then decides which of concurrent callers records.
    Raises ProcessorUnavailable (nothing stored), PaymentMismatch, PaymentVoided.
    """
    async with uow() as unit:
        existing = await unit.payments.get(request.order_id)
    if existing is not None:
        return _repeat_of(existing, request)

    decision = await processor.authorize(request.payment_token, request.amount)
    now = clock()
    payment = Payment.authorized_or_declined(
        request,
        payment_id=new_payment_id(),
        decline_reason=None if isinstance(decision, Approved) else decision.reason,
        now=now,
    )
    async with uow() as unit:
        if not await unit.payments.add_if_absent(payment):
            # Another request for this order committed first; it decides.
            winner = await unit.payments.get(request.order_id)
            if winner is None:  # rows are never deleted, so a lost insert means a row exists
                raise RuntimeError(f"payment for order {request.order_id} vanished")
            return _repeat_of(winner, request)
        if payment.status is PaymentStatus.AUTHORIZED:
            await unit.payments.record_operation(
                payment.payment_id, OperationKind.AUTHORIZE, request.amount, now
            )
        await unit.enqueue(payment_event(payment))
        await unit.commit()
    return AuthorizeOutcome(payment, created=True)


async def _move(
    unit: UnitOfWork, order_id: uuid.UUID, step: Transition, now: datetime
) -> Payment | None:
    """Applies ``step`` and commits, if the payment is in its source status; None otherwise."""
    moved = await unit.payments.transition(
        order_id, source=step.source, target=step.target, now=now
    )
    if moved is None:
        return None
    assert moved.amount is not None  # only tombstones lack an amount, and they never move
    await unit.payments.record_operation(moved.payment_id, step.operation, moved.amount, now)
    await unit.enqueue(payment_event(moved))
    await unit.commit()
    return moved


def _already_there(existing: Payment, step: Transition) -> Payment:
    if existing.status is step.target:
        return existing  # an idempotent repeat: nothing written
    raise InvalidPaymentState(existing.order_id, existing.status, step.target)


async def _apply(
    step: Transition, order_id: uuid.UUID, *, uow: UnitOfWorkFactory, clock: Clock
) -> Payment:
    async with uow() as unit:
        moved = await _move(unit, order_id, step, clock())
        if moved is not None:
            return moved
        existing = await unit.payments.get(order_id)
    if existing is None:
        raise PaymentNotFound(order_id)
    return _already_there(existing, step)


async def capture(
    order_id: uuid.UUID, *, uow: UnitOfWorkFactory, clock: Clock = utc_now
) -> Payment:
    """AUTHORIZED → CAPTURED; a repeat answers CAPTURED again."""
    return await _apply(CAPTURE, order_id, uow=uow, clock=clock)


async def refund(order_id: uuid.UUID, *, uow: UnitOfWorkFactory, clock: Clock = utc_now) -> Payment:
    """CAPTURED → REFUNDED (in full); a repeat answers REFUNDED again."""
    return await _apply(REFUND, order_id, uow=uow, clock=clock)


async def void(
    order_id: uuid.UUID,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock = utc_now,
    new_payment_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Payment:
    """AUTHORIZED → VOIDED; a repeat answers VOIDED again.

    Voiding an order we have never seen records a VOIDED tombstone, so an authorization that
    arrives after its compensation (a retry overtaken by the saga's void) is refused.
    """
    # Twice at most: losing the tombstone insert means a payment appeared meanwhile, and the
    # second pass treats it like any other.
    for _ in range(2):
        async with uow() as unit:
            now = clock()
            moved = await _move(unit, order_id, VOID, now)
            if moved is not None:
                return moved
            existing = await unit.payments.get(order_id)
            if existing is None:
                tombstone = Payment.void_tombstone(order_id, payment_id=new_payment_id(), now=now)
                if await unit.payments.add_if_absent(tombstone):
                    await unit.commit()
                    return tombstone
                continue
        return _already_there(existing, VOID)
    raise RuntimeError(f"payment for order {order_id} kept changing under a void")


async def get_payment(order_id: uuid.UUID, *, uow: UnitOfWorkFactory) -> Payment:
    async with uow() as unit:
        payment = await unit.payments.get(order_id)
    if payment is None:
        raise PaymentNotFound(order_id)
    return payment
