"""The HTTP Payments adapter against a tiny in-test server speaking the payments contract:
what it sends, how it reads approvals, declines, tombstones, odd answers and silence."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from bazaar_orders.adapters.payments_http import HttpPayments
from bazaar_orders.domain import (
    Authorized,
    Declined,
    DependencyContractError,
    DependencyUnavailable,
    PaymentVoided,
)
from chassis import ServiceClient

PROBLEMS = "https://bazaar.dev/problems"
DECLINES = {"tok_decline": "card_declined"}
# Which status each change needs, and where it leads (as the payments service defines them).
CHANGES = {"capture": ("AUTHORIZED", "CAPTURED"), "refund": ("CAPTURED", "REFUNDED")}


def _problem(status: int, kind: str) -> web.Response:
    body = {"type": f"{PROBLEMS}/{kind}", "title": kind, "status": status}
    return web.json_response(body, status=status, content_type="application/problem+json")


@dataclass
class FakePaymentsService:
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    override: web.Response | None = None
    hang: asyncio.Event | None = None

    def _json(self, order_id: str, status: int = 200) -> web.Response:
        return web.json_response(self.payments[order_id], status=status)

    async def _record(self, request: web.Request) -> web.Response | None:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, body))
        if self.hang is not None:
            await self.hang.wait()
        return self.override

    async def authorize(self, request: web.Request) -> web.Response:
        if (answer := await self._record(request)) is not None:
            return answer
        body = await request.json()
        order_id = body["orderId"]
        existing = self.payments.get(order_id)
        if existing is not None:
            if existing["status"] == "VOIDED" and existing["amount"] is None:
                return _problem(409, "payment-voided")
            return self._json(order_id)
        declined = body["paymentToken"] in DECLINES
        self.payments[order_id] = {
            "paymentId": str(uuid.uuid4()),
            "orderId": order_id,
            "customerId": body["customerId"],
            "amount": body["amount"],
            "currency": body["currency"],
            "status": "DECLINED" if declined else "AUTHORIZED",
            "declineReason": DECLINES.get(body["paymentToken"]),
            "createdAt": "2025-03-01T12:00:00Z",
            "updatedAt": "2025-03-01T12:00:00Z",
        }
        return self._json(order_id, 201)

    async def change(self, request: web.Request) -> web.Response:
        if (answer := await self._record(request)) is not None:
            return answer
        order_id, action = request.match_info["order_id"], request.match_info["action"]
        payment = self.payments.get(order_id)
        if action == "void" and payment is None:
            self.payments[order_id] = {
                "paymentId": str(uuid.uuid4()),
                "orderId": order_id,
                "customerId": None,
                "amount": None,
                "currency": None,
                "status": "VOIDED",
                "declineReason": None,
            }
            return self._json(order_id)
        if payment is None:
            return _problem(404, "payment-not-found")
        source, target = CHANGES.get(action, ("AUTHORIZED", "VOIDED"))
        if payment["status"] not in (source, target):
            return _problem(409, "invalid-payment-state")
        payment["status"] = target
        return self._json(order_id)


@pytest.fixture
def service() -> FakePaymentsService:
    return FakePaymentsService()


@pytest.fixture
async def payments_url(service: FakePaymentsService, serve: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/internal/payments", service.authorize)
    app.router.add_post("/internal/payments/{order_id}/{action}", service.change)
    async with serve(app, lambda: service.hang) as url:
        yield url


@pytest.fixture
def payments(payments_url: str, contract_client: Any) -> HttpPayments:
    return HttpPayments(contract_client("payments", payments_url))


async def _authorize(payments: HttpPayments, order_id: uuid.UUID, token: str = "tok_visa") -> Any:
    return await payments.authorize(order_id, uuid.uuid4(), Decimal("59.9"), "USD", token)


async def test_authorize_sends_the_order_and_money_and_reads_the_approval(
    service: FakePaymentsService, payments: HttpPayments
) -> None:
    order_id = uuid.uuid4()

    answer = await _authorize(payments, order_id)
    repeat = await _authorize(payments, order_id)  # idempotent: 200 with the same payment

    assert isinstance(answer, Authorized)
    assert repeat == answer
    assert answer.payment_id == uuid.UUID(service.payments[str(order_id)]["paymentId"])
    method, path, body = service.requests[0]
    assert (method, path) == ("POST", "/internal/payments")
    assert body["orderId"] == str(order_id)
    assert (body["amount"], body["currency"], body["paymentToken"]) == ("59.90", "USD", "tok_visa")


async def test_a_decline_is_an_answer_with_its_reason(payments: HttpPayments) -> None:
    answer = await _authorize(payments, uuid.uuid4(), token="tok_decline")

    assert answer == Declined("card_declined")


async def test_capture_then_refund_and_repeats_are_fine(
    service: FakePaymentsService, payments: HttpPayments
) -> None:
    order_id = uuid.uuid4()
    await _authorize(payments, order_id)

    await payments.capture(order_id)
    await payments.capture(order_id)
    await payments.refund(order_id)
    await payments.refund(order_id)

    assert service.payments[str(order_id)]["status"] == "REFUNDED"
    assert service.requests[1][:2] == ("POST", f"/internal/payments/{order_id}/capture")


async def test_void_before_authorize_leaves_a_tombstone_that_refuses_it(
    service: FakePaymentsService, payments: HttpPayments
) -> None:
    order_id = uuid.uuid4()

    await payments.void(order_id)

    with pytest.raises(PaymentVoided):
        await _authorize(payments, order_id)
    assert service.payments[str(order_id)]["status"] == "VOIDED"


@pytest.mark.parametrize("action", ["capture", "refund"])
async def test_a_change_from_the_wrong_state_is_a_contract_error(
    payments: HttpPayments, action: str
) -> None:
    order_id = uuid.uuid4()
    await _authorize(payments, order_id, token="tok_decline")

    with pytest.raises(DependencyContractError, match="invalid-payment-state"):
        await getattr(payments, action)(order_id)


async def test_an_unknown_payment_is_a_contract_error(payments: HttpPayments) -> None:
    with pytest.raises(DependencyContractError, match="404"):
        await payments.capture(uuid.uuid4())


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_mean_unavailable(
    service: FakePaymentsService, payments: HttpPayments, status: int
) -> None:
    service.override = _problem(status, "whatever")
    with pytest.raises(DependencyUnavailable):
        await _authorize(payments, uuid.uuid4())
    service.override = _problem(status, "whatever")  # a Response is sent only once
    with pytest.raises(DependencyUnavailable):
        await payments.void(uuid.uuid4())


@pytest.mark.parametrize(
    "answer",
    [
        web.json_response({"paymentId": "x", "orderId": "y", "status": "AUTHORIZED"}),
        web.json_response({"paymentId": str(uuid.uuid4()), "status": "MAYBE"}),
        web.Response(status=404, text="no such route"),
        web.json_response(
            {"paymentId": str(uuid.uuid4()), "orderId": str(uuid.uuid4()), "status": "AUTHORIZED"}
        ),
    ],
    ids=["bad-ids", "bad-status", "404", "another-order"],
)
async def test_answers_outside_the_contract_are_contract_errors(
    service: FakePaymentsService, payments: HttpPayments, answer: web.Response
) -> None:
    service.override = answer

    with pytest.raises(DependencyContractError):
        await _authorize(payments, uuid.uuid4())


async def test_no_answer_in_time_means_unavailable(
    service: FakePaymentsService, payments: HttpPayments
) -> None:
    service.hang = asyncio.Event()

    with pytest.raises(DependencyUnavailable, match="timed out"):
        await _authorize(payments, uuid.uuid4(), token="tok_timeout")


async def test_connection_refused_means_unavailable(refused_url: str) -> None:
    client = ServiceClient("payments", refused_url, timeout_seconds=1.0)
    try:
        with pytest.raises(DependencyUnavailable):
            await HttpPayments(client).refund(uuid.uuid4())
    finally:
        await client.close()
