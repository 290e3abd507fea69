"""The internal payments API through the real app on a real PostgreSQL (simulated processor)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.integration

PROBLEMS = "https://bazaar.dev/problems"
CUSTOMER = "00000000-0000-4000-8000-00000000c001"


def _body(order_id: uuid.UUID | str, **changes: Any) -> dict[str, Any]:
    return {
        "orderId": str(order_id),
        "customerId": CUSTOMER,
        "amount": "59.97",
        "currency": "USD",
        "paymentToken": "tok_visa",
    } | changes


def _problem(response: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if kind is not None:
        assert body["type"] == f"{PROBLEMS}/{kind}"
    return body


async def _ledger(db: AsyncEngine, order_id: uuid.UUID) -> list[tuple[str, Decimal]]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT o.kind, o.amount FROM payment_operations o "
                "JOIN payments p USING (payment_id) WHERE p.order_id = :o ORDER BY o.created_at"
            ),
            {"o": order_id},
        )
        return [(row.kind, row.amount) for row in rows]


async def _outbox_types(db: AsyncEngine) -> list[str]:
    async with db.connect() as conn:
        rows = await conn.execute(text("SELECT event_type FROM outbox ORDER BY seq"))
        return [row.event_type for row in rows]


async def test_authorize_answers_201_and_stores_payment_ledger_and_event_together(
    api: httpx.AsyncClient, db: AsyncEngine, count_rows: Any
) -> None:
    order_id = uuid.uuid4()

    response = await api.post("/internal/payments", json=_body(order_id))

    assert response.status_code == 201, response.text
    payment = response.json()
    assert set(payment) == {
        "paymentId", "orderId", "customerId", "amount", "currency", "status",
        "declineReason", "createdAt", "updatedAt",
    }  # fmt: skip
    assert payment["orderId"] == str(order_id)
    assert payment["customerId"] == CUSTOMER
    assert (payment["amount"], payment["currency"]) == ("59.97", "USD")
    assert (payment["status"], payment["declineReason"]) == ("AUTHORIZED", None)
    assert datetime.fromisoformat(payment["createdAt"]).utcoffset() is not None
    assert "paymentToken" not in payment
    assert await count_rows() == {"payments": 1, "payment_operations": 1, "outbox": 1}
    assert await _ledger(db, order_id) == [("AUTHORIZE", Decimal("59.97"))]
    assert await _outbox_types(db) == ["bazaar.payments.payment.authorized.v1"]

    fetched = await api.get(f"/internal/payments/{order_id}")
    assert (fetched.status_code, fetched.json()) == (200, payment)


async def test_a_repeat_answers_200_with_the_same_payment_and_writes_nothing(
    api: httpx.AsyncClient, count_rows: Any
) -> None:
    order_id = uuid.uuid4()
    first = await api.post("/internal/payments", json=_body(order_id))
    counts = await count_rows()

    again = await api.post("/internal/payments", json=_body(order_id))

    assert (again.status_code, again.json()) == (200, first.json())
    assert await count_rows() == counts


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "59.98"},
        {"paymentToken": "tok_mastercard"},
        {"customerId": "00000000-0000-4000-8000-00000000c002"},
    ],
    ids=["amount", "token", "customer"],
)
async def test_the_same_order_with_a_different_request_is_409_payment_mismatch(
    api: httpx.AsyncClient, count_rows: Any, change: dict[str, str]
) -> None:
    order_id = uuid.uuid4()
    first = await api.post("/internal/payments", json=_body(order_id))
    counts = await count_rows()

    response = await api.post("/internal/payments", json=_body(order_id, **change))

    _problem(response, 409, "payment-mismatch")
    assert await count_rows() == counts
    assert (await api.get(f"/internal/payments/{order_id}")).json() == first.json()


@pytest.mark.parametrize(
    ("token", "reason"),
    [("tok_decline", "card_declined"), ("tok_insufficient_funds", "insufficient_funds")],
)
async def test_a_decline_is_201_declined_stored_so_a_repeat_answers_the_same(
    api: httpx.AsyncClient, db: AsyncEngine, count_rows: Any, token: str, reason: str
) -> None:
    order_id = uuid.uuid4()

    declined = await api.post("/internal/payments", json=_body(order_id, paymentToken=token))

    assert declined.status_code == 201, declined.text
    assert (declined.json()["status"], declined.json()["declineReason"]) == ("DECLINED", reason)
    assert await count_rows() == {"payments": 1, "payment_operations": 0, "outbox": 1}
    assert await _outbox_types(db) == ["bazaar.payments.payment.declined.v1"]

    again = await api.post("/internal/payments", json=_body(order_id, paymentToken=token))
    assert (again.status_code, again.json()) == (200, declined.json())
    assert await count_rows() == {"payments": 1, "payment_operations": 0, "outbox": 1}


@pytest.mark.parametrize("token", ["tok_error", "tok_timeout"])
async def test_a_processor_failure_is_503_and_stores_nothing(
    api: httpx.AsyncClient, count_rows: Any, token: str
) -> None:
    order_id = uuid.uuid4()

    response = await api.post("/internal/payments", json=_body(order_id, paymentToken=token))

    _problem(response, 503, "processor-unavailable")
    assert response.headers["retry-after"] == "2"
    assert await count_rows() == {"payments": 0, "payment_operations": 0, "outbox": 0}
    _problem(await api.get(f"/internal/payments/{order_id}"), 404, "payment-not-found")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 59.97}, "amount"),
        ({"amount": "59.9"}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "100000000.00"}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"paymentToken": ""}, "paymentToken"),
        ({"orderId": "not-a-uuid"}, "orderId"),
        ({"customerId": None}, "customerId"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_invalid_requests_are_422_naming_the_field_and_store_nothing(
    api: httpx.AsyncClient, count_rows: Any, change: dict[str, Any], field: str
) -> None:
    response = await api.post("/internal/payments", json=_body(uuid.uuid4(), **change))

    body = _problem(response, 422)
    assert field in {error["field"] for error in body["errors"]}
    assert await count_rows() == {"payments": 0, "payment_operations": 0, "outbox": 0}


async def test_a_zero_amount_is_422_invalid_payment(
    api: httpx.AsyncClient, count_rows: Any
) -> None:
    response = await api.post("/internal/payments", json=_body(uuid.uuid4(), amount="0.00"))

    _problem(response, 422, "invalid-payment")
    assert await count_rows() == {"payments": 0, "payment_operations": 0, "outbox": 0}


async def test_a_missing_field_and_malformed_json_are_refused(
    api: httpx.AsyncClient, count_rows: Any
) -> None:
    body = _body(uuid.uuid4())
    del body["paymentToken"]
    _problem(await api.post("/internal/payments", json=body), 422)

    malformed = await api.post(
        "/internal/payments", content=b'{"orderId": ', headers={"content-type": "application/json"}
    )
    _problem(malformed, 400)
    assert await count_rows() == {"payments": 0, "payment_operations": 0, "outbox": 0}


async def test_capture_then_refund_moves_the_money_once_each(
    api: httpx.AsyncClient, db: AsyncEngine, count_rows: Any
) -> None:
    order_id = uuid.uuid4()
    authorized = (await api.post("/internal/payments", json=_body(order_id))).json()

    captured = await api.post(f"/internal/payments/{order_id}/capture")
    assert captured.status_code == 200, captured.text
    assert captured.json()["status"] == "CAPTURED"
    assert captured.json()["paymentId"] == authorized["paymentId"]
    assert await count_rows() == {"payments": 1, "payment_operations": 2, "outbox": 2}

    again = await api.post(f"/internal/payments/{order_id}/capture")
    assert (again.status_code, again.json()) == (200, captured.json())
    assert await count_rows() == {"payments": 1, "payment_operations": 2, "outbox": 2}

    refunded = await api.post(f"/internal/payments/{order_id}/refund")
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "REFUNDED"
    assert await count_rows() == {"payments": 1, "payment_operations": 3, "outbox": 3}
    again = await api.post(f"/internal/payments/{order_id}/refund")
    assert (again.status_code, again.json()) == (200, refunded.json())
    assert await count_rows() == {"payments": 1, "payment_operations": 3, "outbox": 3}

    assert await _ledger(db, order_id) == [
        ("AUTHORIZE", Decimal("59.97")),
        ("CAPTURE", Decimal("59.97")),
        ("REFUND", Decimal("59.97")),
    ]
    assert await _outbox_types(db) == [
        "bazaar.payments.payment.authorized.v1",
        "bazaar.payments.payment.captured.v1",
        "bazaar.payments.payment.refunded.v1",
    ]
    async with db.connect() as conn:
        net = await conn.scalar(
            text(
                "SELECT coalesce(sum(CASE kind WHEN 'CAPTURE' THEN amount ELSE -amount END), 0) "
                "FROM payment_operations WHERE kind IN ('CAPTURE', 'REFUND')"
            )
        )
    assert net == Decimal("0.00")


async def test_void_releases_an_authorization_and_refuses_what_is_captured(
    api: httpx.AsyncClient, db: AsyncEngine, count_rows: Any
) -> None:
    held, taken = uuid.uuid4(), uuid.uuid4()
    await api.post("/internal/payments", json=_body(held))
    await api.post("/internal/payments", json=_body(taken))
    await api.post(f"/internal/payments/{taken}/capture")
    counts = await count_rows()

    voided = await api.post(f"/internal/payments/{held}/void")
    assert (voided.status_code, voided.json()["status"]) == (200, "VOIDED")
    assert await _ledger(db, held) == [("AUTHORIZE", Decimal("59.97")), ("VOID", Decimal("59.97"))]
    again = await api.post(f"/internal/payments/{held}/void")
    assert (again.status_code, again.json()) == (200, voided.json())
    after_void = {**counts, "payment_operations": counts["payment_operations"] + 1}
    assert await count_rows() == after_void | {"outbox": counts["outbox"] + 1}

    refused = await api.post(f"/internal/payments/{taken}/void")
    assert _problem(refused, 409, "invalid-payment-state")["paymentStatus"] == "CAPTURED"
    assert await count_rows() == after_void | {"outbox": counts["outbox"] + 1}


async def test_voiding_an_unknown_order_tombstones_it_against_a_late_authorization(
    api: httpx.AsyncClient, count_rows: Any
) -> None:
    order_id = uuid.uuid4()

    voided = await api.post(f"/internal/payments/{order_id}/void")

    assert voided.status_code == 200, voided.text
    tombstone = voided.json()
    assert tombstone["orderId"] == str(order_id)
    assert tombstone["status"] == "VOIDED"
    assert (tombstone["customerId"], tombstone["amount"], tombstone["currency"]) == (
        None,
        None,
        None,
    )
    # Nothing was held, so nothing for the ledger and no event.
    assert await count_rows() == {"payments": 1, "payment_operations": 0, "outbox": 0}

    late = await api.post("/internal/payments", json=_body(order_id))
    _problem(late, 409, "payment-voided")
    again = await api.post(f"/internal/payments/{order_id}/void")
    assert (again.status_code, again.json()) == (200, tombstone)
    assert (await api.get(f"/internal/payments/{order_id}")).json() == tombstone
    assert await count_rows() == {"payments": 1, "payment_operations": 0, "outbox": 0}


@pytest.mark.parametrize(
    ("token", "action", "status"),
    [
        ("tok_decline", "capture", "DECLINED"),
        ("tok_decline", "void", "DECLINED"),
        ("tok_decline", "refund", "DECLINED"),
        ("tok_visa", "refund", "AUTHORIZED"),
    ],
)
async def test_actions_the_state_does_not_allow_are_409_and_write_nothing(
    api: httpx.AsyncClient, count_rows: Any, token: str, action: str, status: str
) -> None:
    order_id = uuid.uuid4()
    await api.post("/internal/payments", json=_body(order_id, paymentToken=token))
    counts = await count_rows()

    response = await api.post(f"/internal/payments/{order_id}/{action}")

    assert _problem(response, 409, "invalid-payment-state")["paymentStatus"] == status
    assert await count_rows() == counts
    assert (await api.get(f"/internal/payments/{order_id}")).json()["status"] == status


@pytest.mark.parametrize("action", ["capture", "void", "refund"])
async def test_actions_after_a_void_or_refund_are_409(
    api: httpx.AsyncClient, count_rows: Any, action: str
) -> None:
    voided, refunded = uuid.uuid4(), uuid.uuid4()
    for order_id in (voided, refunded):
        await api.post("/internal/payments", json=_body(order_id))
    await api.post(f"/internal/payments/{voided}/void")
    await api.post(f"/internal/payments/{refunded}/capture")
    await api.post(f"/internal/payments/{refunded}/refund")
    counts = await count_rows()

    for order_id, status in ((voided, "VOIDED"), (refunded, "REFUNDED")):
        response = await api.post(f"/internal/payments/{order_id}/{action}")
        if action == {"VOIDED": "void", "REFUNDED": "refund"}[status]:
            assert (response.status_code, response.json()["status"]) == (200, status)
        else:
            assert _problem(response, 409, "invalid-payment-state")["paymentStatus"] == status
    assert await count_rows() == counts


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/internal/payments/{}/capture"),
        ("POST", "/internal/payments/{}/refund"),
        ("GET", "/internal/payments/{}"),
    ],
)
async def test_unknown_orders_are_404_and_nothing_is_written(
    api: httpx.AsyncClient, count_rows: Any, method: str, path: str
) -> None:
    response = await api.request(method, path.format(uuid.uuid4()))

    _problem(response, 404, "payment-not-found")
    assert await count_rows() == {"payments": 0, "payment_operations": 0, "outbox": 0}


async def test_a_malformed_order_id_in_the_path_is_422(api: httpx.AsyncClient) -> None:
    body = _problem(await api.post("/internal/payments/not-a-uuid/capture"), 422)
    assert body["errors"][0]["field"] == "path.orderId"


async def test_the_service_is_ready_once_migrated(api: httpx.AsyncClient) -> None:
    ready = await api.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
