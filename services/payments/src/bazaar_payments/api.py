"""HTTP entrypoints (internal only: orders calls them, the gateway never routes them).

Request/response models; domain errors become problems in problems.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from . import services
from .domain import AuthorizationRequest, PaymentError, PaymentStatus
from .domain import Payment as StoredPayment
from .problems import problem_for

MONEY = Field(pattern=r"^\d{1,8}\.\d{2}$", examples=["59.97"])
INTERNAL: dict[str, Any] = {"x-internal": True}

OrderId = Annotated[uuid.UUID, Path(alias="orderId")]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class AuthorizePayment(_Model):
    model_config = ConfigDict(extra="forbid")

    order_id: uuid.UUID
    customer_id: uuid.UUID
    # A string, never a JSON number: amounts are exact decimals.
    amount: Annotated[str, MONEY]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]
    payment_token: Annotated[str, Field(min_length=1, max_length=128, examples=["tok_visa"])]


class Payment(_Model):
    payment_id: uuid.UUID
    order_id: uuid.UUID
    # customerId, amount and currency are null only on a void tombstone (status VOIDED, the
    # order was voided before any authorization arrived).
    customer_id: uuid.UUID | None
    amount: Annotated[str, MONEY] | None
    currency: str | None = Field(examples=["USD"])
    status: PaymentStatus
    decline_reason: str | None = Field(examples=["card_declined"])
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, payment: StoredPayment) -> Payment:
        return cls(
            payment_id=payment.payment_id,
            order_id=payment.order_id,
            customer_id=payment.customer_id,
            amount=None if payment.amount is None else f"{payment.amount:.2f}",
            currency=payment.currency,
            status=payment.status,
            decline_reason=payment.decline_reason,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
        )


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No payment for the order"}}
_STATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "The payment's status does not allow it (`paymentStatus` says which)"}
}

router = APIRouter(prefix="/internal/payments", tags=["internal"])


async def _answer(
    operation: Callable[..., Awaitable[StoredPayment]], order_id: uuid.UUID, request: Request
) -> Payment:
    """The payment ``operation`` leaves for the order, or the problem its error is."""
    try:
        return Payment.of(await operation(order_id, uow=request.app.state.uow))
    except PaymentError as error:
        raise problem_for(error) from error


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Payment,
    operation_id="authorizePayment",
    summary="Authorize an order's payment with the processor, once per order id",
    description="A decline is not an error: 201 with status DECLINED and declineReason, stored "
    "so that a repeat answers the same. Repeating the same request answers 200 with the stored "
    "payment, whatever its status now.",
    responses={
        200: {"model": Payment, "description": "A repeat of an earlier request: nothing changed"},
        201: {"description": "Authorized (AUTHORIZED) or declined (DECLINED) just now"},
        400: {"description": "Malformed JSON"},
        409: {
            "description": "The order has a payment from a different request "
            "(payment-mismatch), or its payment was voided first (payment-voided)"
        },
        422: {"description": "Invalid request"},
        503: {
            "description": "The processor failed or timed out: nothing authorized or stored",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
    openapi_extra=INTERNAL,
)
async def authorize(body: AuthorizePayment, request: Request, response: Response) -> Payment:
    state = request.app.state
    try:
        outcome = await services.authorize(
            AuthorizationRequest(
                order_id=body.order_id,
                customer_id=body.customer_id,
                amount=Decimal(body.amount),
                currency=body.currency,
                payment_token=body.payment_token,
            ),
            processor=state.processor,
            uow=state.uow,
        )
    except PaymentError as error:
        raise problem_for(error) from error
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    return Payment.of(outcome.payment)


@router.post(
    "/{orderId}/capture",
    response_model=Payment,
    operation_id="capturePayment",
    summary="Capture an authorized payment (AUTHORIZED → CAPTURED); repeats answer the same",
    responses={**_NOT_FOUND, **_STATE},
    openapi_extra=INTERNAL,
)
async def capture(order_id: OrderId, request: Request) -> Payment:
    return await _answer(services.capture, order_id, request)


@router.post(
    "/{orderId}/void",
    response_model=Payment,
    operation_id="voidPayment",
    summary="Void an authorization (AUTHORIZED → VOIDED); repeats answer the same",
    description="Voiding an order with no payment records a VOIDED payment without money, so "
    "an authorization arriving later for it is refused (payment-voided).",
    responses=_STATE,
    openapi_extra=INTERNAL,
)
async def void(order_id: OrderId, request: Request) -> Payment:
    return await _answer(services.void, order_id, request)


@router.post(
    "/{orderId}/refund",
    response_model=Payment,
    operation_id="refundPayment",
    summary="Refund a captured payment in full (CAPTURED → REFUNDED); repeats answer the same",
    responses={**_NOT_FOUND, **_STATE},
    openapi_extra=INTERNAL,
)
async def refund(order_id: OrderId, request: Request) -> Payment:
    return await _answer(services.refund, order_id, request)


@router.get(
    "/{orderId}",
    response_model=Payment,
    operation_id="getPayment",
    summary="An order's payment",
    responses=_NOT_FOUND,
    openapi_extra=INTERNAL,
)
async def get_payment(order_id: OrderId, request: Request) -> Payment:
    return await _answer(services.get_payment, order_id, request)
