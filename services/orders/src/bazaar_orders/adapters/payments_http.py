"""Payments over the payments service's internal HTTP API (pooled aiohttp, via the chassis).

Every call is keyed by the order id, so repeating one is safe: each is sent with
``idempotent=True`` and the client retries it (within its retry budget) on failures.
"Could not reach it", a timeout, an open circuit breaker,
a 5xx or a 429 become DependencyUnavailable (retry later); an answer outside the contract
becomes DependencyContractError; a decline is an answer, not an error.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bazaar_orders.domain import (
    Authorized,
    Declined,
    DependencyContractError,
    PaymentVoided,
)
from chassis import ServiceClient, UpstreamResponse

from .dependency_calls import Dependency

UPSTREAM = "payments"
PAYMENT_VOIDED = "https://bazaar.dev/problems/payment-voided"


class _Payment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    payment_id: uuid.UUID = Field(alias="paymentId")
    order_id: uuid.UUID = Field(alias="orderId")
    status: Literal["AUTHORIZED", "DECLINED", "CAPTURED", "VOIDED", "REFUNDED"]
    decline_reason: str | None = Field(default=None, alias="declineReason")


class _Problem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = "about:blank"


def _payment(method: str, path: str, response: UpstreamResponse, order_id: uuid.UUID) -> _Payment:
    try:
        payment = _Payment.model_validate_json(response.body)
    except ValidationError as exc:
        raise DependencyContractError(UPSTREAM, f"{method} {path}: unreadable payment") from exc
    if payment.order_id != order_id:
        raise DependencyContractError(UPSTREAM, f"{method} {path}: a payment of another order")
    return payment


def _problem_type(response: UpstreamResponse) -> str | None:
    try:
        return _Problem.model_validate_json(response.body).type
    except ValidationError:
        return None


class HttpPayments:
    def __init__(self, client: ServiceClient) -> None:
        self._upstream = Dependency(UPSTREAM, client)

    async def authorize(
        self,
        order_id: uuid.UUID,
        customer_id: uuid.UUID,
        amount: Decimal,
        currency: str,
        payment_token: str,
    ) -> Authorized | Declined:
        path = "/internal/payments"
        body = {
            "orderId": str(order_id),
            "customerId": str(customer_id),
            "amount": f"{amount:.2f}",
            "currency": currency,
            "paymentToken": payment_token,
        }
        response = await self._upstream.call("POST", path, json=body, idempotent=True)
        if response.status == 409 and _problem_type(response) == PAYMENT_VOIDED:
            raise PaymentVoided(f"the payment of order {order_id} was voided")
        if response.status not in (200, 201):
            raise self._upstream.unexpected("POST", path, response)
        payment = _payment("POST", path, response, order_id)
        if payment.status == "DECLINED":
            return Declined(payment.decline_reason or "declined")
        if payment.status in ("AUTHORIZED", "CAPTURED"):
            return Authorized(payment.payment_id)
        raise self._upstream.unexpected("POST", path, response)

    async def _change(self, order_id: uuid.UUID, action: str, expected: str) -> None:
        path = f"/internal/payments/{order_id}/{action}"
        response = await self._upstream.call("POST", path, idempotent=True)
        if response.status != 200:
            raise self._upstream.unexpected("POST", path, response)
        if _payment("POST", path, response, order_id).status != expected:
            raise self._upstream.unexpected("POST", path, response)

    async def capture(self, order_id: uuid.UUID) -> None:
        await self._change(order_id, "capture", "CAPTURED")

    async def void(self, order_id: uuid.UUID) -> None:
        await self._change(order_id, "void", "VOIDED")

    async def refund(self, order_id: uuid.UUID) -> None:
        await self._change(order_id, "refund", "REFUNDED")
