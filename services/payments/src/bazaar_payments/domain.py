"""Payments: the state machine, the authorization request, and the domain errors. Pure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

# payments.amount is numeric(10,2): a larger amount could not be stored.
MAX_AMOUNT = Decimal("99999999.99")
CENT = Decimal("0.01")


class PaymentStatus(StrEnum):
    AUTHORIZED = "AUTHORIZED"
    DECLINED = "DECLINED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    REFUNDED = "REFUNDED"


class OperationKind(StrEnum):
    """A row of the money ledger; at most one of each kind per payment."""

    AUTHORIZE = "AUTHORIZE"
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND = "REFUND"


@dataclass(frozen=True)
class Transition:
    """One move of the state machine: which status it leaves, where it lands, what it records."""

    source: PaymentStatus
    target: PaymentStatus
    operation: OperationKind


CAPTURE = Transition(PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED, OperationKind.CAPTURE)
VOID = Transition(PaymentStatus.AUTHORIZED, PaymentStatus.VOIDED, OperationKind.VOID)
REFUND = Transition(PaymentStatus.CAPTURED, PaymentStatus.REFUNDED, OperationKind.REFUND)


@dataclass(frozen=True)
class AuthorizationRequest:
    """What orders asks for; the same order id must always come with the same request."""

    order_id: uuid.UUID
    customer_id: uuid.UUID
    amount: Decimal
    currency: str
    payment_token: str

    def __post_init__(self) -> None:
        if not CENT <= self.amount <= MAX_AMOUNT or self.amount != self.amount.quantize(CENT):
            raise InvalidPayment(f"amount must be 0.01 to {MAX_AMOUNT} in whole cents")
        if len(self.currency) != 3 or not self.currency.isascii() or not self.currency.isupper():
            raise InvalidPayment("currency must be a three-letter ISO 4217 code")
        if not self.payment_token:
            raise InvalidPayment("paymentToken must not be empty")


@dataclass(frozen=True)
class Payment:
    """One order's payment. A void tombstone (``is_tombstone``) has no customer or money: the
    order was voided before any authorization reached us, and none may land afterwards."""

    payment_id: uuid.UUID
    order_id: uuid.UUID
    customer_id: uuid.UUID | None
    amount: Decimal | None
    currency: str | None
    payment_token: str | None
    status: PaymentStatus
    decline_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def authorized_or_declined(
        cls,
        request: AuthorizationRequest,
        *,
        payment_id: uuid.UUID,
        decline_reason: str | None,
        now: datetime,
    ) -> Payment:
        return cls(
            payment_id=payment_id,
            order_id=request.order_id,
            customer_id=request.customer_id,
            amount=request.amount,
            currency=request.currency,
            payment_token=request.payment_token,
            status=PaymentStatus.DECLINED if decline_reason else PaymentStatus.AUTHORIZED,
            decline_reason=decline_reason,
            created_at=now,
            updated_at=now,
        )

    @classmethod
    def void_tombstone(
        cls, order_id: uuid.UUID, *, payment_id: uuid.UUID, now: datetime
    ) -> Payment:
        return cls(
            payment_id=payment_id,
            order_id=order_id,
            customer_id=None,
            amount=None,
            currency=None,
            payment_token=None,
            status=PaymentStatus.VOIDED,
            decline_reason=None,
            created_at=now,
            updated_at=now,
        )

    @property
    def is_tombstone(self) -> bool:
        return self.amount is None

    def answers(self, request: AuthorizationRequest) -> bool:
        """Whether ``request`` is a repeat of the one that created this payment."""
        return (
            self.customer_id == request.customer_id
            and self.amount == request.amount
            and self.currency == request.currency
            and self.payment_token == request.payment_token
        )


# -- the processor's answers --------------------------------------------------------------------


@dataclass(frozen=True)
class Approved:
    pass


@dataclass(frozen=True)
class Declined:
    reason: str


ProcessorDecision = Approved | Declined


# -- errors -------------------------------------------------------------------------------------


class PaymentError(Exception):
    """Base of every error the payments domain and use cases raise on purpose."""


class InvalidPayment(PaymentError):
    """The authorization request breaks a rule (amount, currency, token)."""


class PaymentNotFound(PaymentError):
    def __init__(self, order_id: uuid.UUID) -> None:
        self.order_id = order_id
        super().__init__(f"no payment for order {order_id}")


class PaymentMismatch(PaymentError):
    """The order already has a payment made from a different request."""

    def __init__(self, order_id: uuid.UUID) -> None:
        self.order_id = order_id
        super().__init__(
            f"order {order_id} already has a payment for a different customer, amount, "
            "currency or payment token"
        )


class PaymentVoided(PaymentError):
    """The order's payment was voided before this authorization arrived."""

    def __init__(self, order_id: uuid.UUID) -> None:
        self.order_id = order_id
        super().__init__(f"the payment for order {order_id} was voided; it cannot be authorized")


class InvalidPaymentState(PaymentError):
    def __init__(self, order_id: uuid.UUID, status: PaymentStatus, wanted: PaymentStatus) -> None:
        self.order_id = order_id
        self.status = status
        self.wanted = wanted
        super().__init__(f"the payment for order {order_id} is {status}; it cannot become {wanted}")


class ProcessorUnavailable(PaymentError):
    """The processor failed or did not answer: nothing was authorized, nothing stored."""
