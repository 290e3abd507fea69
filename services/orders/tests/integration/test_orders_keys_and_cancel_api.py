"""Idempotency keys and cancellation through the real app on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bazaar_orders.order_events import (
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    ORDER_PLACED,
)
from bazaar_orders.saga import SagaState
from chassis.testing import TestTokens

pytestmark = pytest.mark.integration

PROBLEMS = "https://bazaar.dev/problems"
ALICE = uuid.UUID("00000000-0000-4000-8000-00000000a11c")
BOB = uuid.UUID("00000000-0000-4000-8000-000000000b0b")


async def test_an_idempotency_key_replays_the_same_order_and_writes_nothing(
    api: httpx.AsyncClient,
    tokens: TestTokens,
    catalog: Any,
    count_rows: Any,
    order_body: Any,
) -> None:
    mug = catalog.add("1.00")
    headers = tokens.headers(ALICE) | {"Idempotency-Key": "checkout-42"}
    first = await api.post("/orders", json=order_body((mug, 2)), headers=headers)
    assert first.status_code == 202
    rows = await count_rows()

    again = await api.post("/orders", json=order_body((mug, 2)), headers=headers)
    reused = await api.post("/orders", json=order_body((mug, 3)), headers=headers)

    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert reused.status_code == 422
    assert reused.json()["type"] == f"{PROBLEMS}/idempotency-key-reused"
    assert await count_rows() == rows
    # Keys are per customer: Bob's "checkout-42" is his own.
    bobs = await api.post(
        "/orders",
        json=order_body((mug, 3)),
        headers=tokens.headers(BOB) | {"Idempotency-Key": "checkout-42"},
    )
    assert bobs.status_code == 202
    assert bobs.json()["orderId"] != first.json()["orderId"]


@pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "256-chars"])
async def test_a_malformed_idempotency_key_is_422_and_writes_nothing(
    api: httpx.AsyncClient,
    tokens: TestTokens,
    catalog: Any,
    count_rows: Any,
    nothing_written: dict[str, int],
    key: str,
    order_body: Any,
) -> None:
    mug = catalog.add("1.00")
    response = await api.post(
        "/orders",
        json=order_body((mug, 1)),
        headers=tokens.headers(ALICE) | {"Idempotency-Key": key},
    )

    assert response.status_code == 422, response.text
    assert await count_rows() == nothing_written


async def test_concurrent_requests_with_one_key_place_one_order(
    api: httpx.AsyncClient,
    tokens: TestTokens,
    catalog: Any,
    count_rows: Any,
    order_body: Any,
) -> None:
    mug = catalog.add("1.00")
    headers = tokens.headers(ALICE) | {"Idempotency-Key": "double-click"}

    answers = await asyncio.gather(
        *(api.post("/orders", json=order_body((mug, 1)), headers=headers) for _ in range(5))
    )

    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["orderId"] for a in answers}) == 1
    counts = await count_rows()
    assert (counts["orders"], counts["order_sagas"], counts["outbox"]) == (1, 1, 1)


async def test_cancel_a_confirmed_order_refunds_and_releases(
    app: FastAPI,
    api: httpx.AsyncClient,
    tokens: TestTokens,
    catalog: Any,
    inventory: Any,
    payments: Any,
    place: Any,
    published: Any,
) -> None:
    mug = catalog.add("19.99")
    inventory.stock_up(mug, 10)
    order_id = await place((mug, 3))
    await app.state.saga_runner.advance(uuid.UUID(order_id))
    cancel = f"/orders/{order_id}/cancel"

    theirs = await api.post(cancel, headers=tokens.headers(BOB))
    cancelled = await api.post(cancel, headers=tokens.headers(ALICE))

    assert theirs.status_code == 404
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert await app.state.saga_runner.advance(uuid.UUID(order_id)) is SagaState.CANCELLED
    assert payments.status == {uuid.UUID(order_id): "REFUNDED"}
    assert inventory.stock == {mug: 10}
    again = await api.post(cancel, headers=tokens.headers(ALICE))
    assert again.status_code == 200
    assert again.json() == cancelled.json()
    assert await published() == [
        ORDER_PLACED,
        ORDER_CONFIRMED,
        ORDER_CANCELLED,
    ]


async def test_pending_and_rejected_orders_cannot_be_cancelled(
    app: FastAPI,
    api: httpx.AsyncClient,
    tokens: TestTokens,
    catalog: Any,
    inventory: Any,
    db: AsyncEngine,
    place: Any,
) -> None:
    mug = catalog.add("1.00")
    inventory.stock_up(mug, 1)
    pending = await place((mug, 1))
    rejected = await place((mug, 5))
    await app.state.saga_runner.advance(uuid.UUID(rejected))

    in_flight = await api.post(f"/orders/{pending}/cancel", headers=tokens.headers(ALICE))
    final = await api.post(f"/orders/{rejected}/cancel", headers=tokens.headers(ALICE))
    missing = await api.post(f"/orders/{uuid.uuid4()}/cancel", headers=tokens.headers(ALICE))

    assert in_flight.status_code == 409
    assert in_flight.json()["type"] == f"{PROBLEMS}/order-in-progress"
    assert final.status_code == 409
    assert final.json()["type"] == f"{PROBLEMS}/order-not-cancellable"
    assert missing.status_code == 404
    async with db.connect() as conn:
        statuses = dict(
            (await conn.execute(text("SELECT order_id::text, status FROM orders"))).all()
        )
        cancelled_events = await conn.scalar(
            text("SELECT count(*) FROM outbox WHERE event_type = :t"), {"t": ORDER_CANCELLED}
        )
    assert statuses == {pending: "PENDING", rejected: "REJECTED"}
    assert cancelled_events == 0
