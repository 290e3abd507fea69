"""Concurrent requests on a real PostgreSQL, and the outbox relay publishing what was committed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chassis import EventSchemas
from chassis.testing import InMemoryBroker

pytestmark = pytest.mark.integration

CUSTOMER = "00000000-0000-4000-8000-00000000c001"


def _body(order_id: uuid.UUID) -> dict[str, Any]:
    return {
        "orderId": str(order_id),
        "customerId": CUSTOMER,
        "amount": "59.97",
        "currency": "USD",
        "paymentToken": "tok_visa",
    }


async def test_twenty_concurrent_identical_authorizations_make_one_payment(
    make_client: Any, gate: Any, count_rows: Any, db: AsyncEngine
) -> None:
    processor = gate(20)
    order_id = uuid.uuid4()
    async with make_client(processor) as api:
        responses = await asyncio.gather(
            *(api.post("/internal/payments", json=_body(order_id)) for _ in range(20))
        )

    # All twenty asked the processor before any recorded; the unique order id decided.
    assert processor.calls == 20
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["paymentId"] for r in responses}) == 1
    assert {r.json()["status"] for r in responses} == {"AUTHORIZED"}
    assert await count_rows() == {"payments": 1, "payment_operations": 1, "outbox": 1}
    async with db.connect() as conn:
        kinds = (await conn.execute(text("SELECT kind FROM payment_operations"))).scalars().all()
    assert kinds == ["AUTHORIZE"]


async def test_ten_concurrent_captures_capture_once(
    api: httpx.AsyncClient, count_rows: Any, db: AsyncEngine
) -> None:
    order_id = uuid.uuid4()
    await api.post("/internal/payments", json=_body(order_id))

    responses = await asyncio.gather(
        *(api.post(f"/internal/payments/{order_id}/capture") for _ in range(10))
    )

    assert {(r.status_code, r.json()["status"]) for r in responses} == {(200, "CAPTURED")}
    assert len({r.json()["updatedAt"] for r in responses}) == 1  # one transition, ten answers
    assert await count_rows() == {"payments": 1, "payment_operations": 2, "outbox": 2}
    async with db.connect() as conn:
        captures = await conn.scalar(
            text("SELECT count(*) FROM payment_operations WHERE kind = 'CAPTURE'")
        )
    assert captures == 1


async def test_concurrent_capture_and_void_cannot_both_win(
    api: httpx.AsyncClient, db: AsyncEngine
) -> None:
    order_id = uuid.uuid4()
    await api.post("/internal/payments", json=_body(order_id))

    capture, void = await asyncio.gather(
        api.post(f"/internal/payments/{order_id}/capture"),
        api.post(f"/internal/payments/{order_id}/void"),
    )

    winners = [r for r in (capture, void) if r.status_code == 200]
    assert len(winners) == 1
    assert sorted([capture.status_code, void.status_code]) == [200, 409]
    async with db.connect() as conn:
        kinds = (
            (await conn.execute(text("SELECT kind FROM payment_operations ORDER BY kind")))
            .scalars()
            .all()
        )
    operation = {"CAPTURED": "CAPTURE", "VOIDED": "VOID"}[winners[0].json()["status"]]
    assert kinds == ["AUTHORIZE", operation]


async def test_the_relay_publishes_every_committed_event_valid_against_its_schema(
    api: httpx.AsyncClient,
    broker: InMemoryBroker,
    db: AsyncEngine,
    event_schemas: EventSchemas,
    eventually: Any,
) -> None:
    paid, declined, held = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await api.post("/internal/payments", json=_body(paid))
    await api.post(f"/internal/payments/{paid}/capture")
    await api.post(f"/internal/payments/{paid}/refund")
    await api.post("/internal/payments", json=_body(declined) | {"paymentToken": "tok_decline"})
    await api.post("/internal/payments", json=_body(held))
    await api.post(f"/internal/payments/{held}/void")

    await eventually(lambda: len(broker.published) == 6)

    by_order = {
        order: [e.type.split(".")[3] for e in broker.published if e.subject == str(order)]
        for order in (paid, declined, held)
    }
    assert by_order == {
        paid: ["authorized", "captured", "refunded"],
        declined: ["declined"],
        held: ["authorized", "voided"],
    }
    for event in broker.published:
        event_schemas.validate(event)
        assert event.source == "/bazaar/payments"
    assert len({e.id for e in broker.published}) == 6
    [decline] = broker.of_type("bazaar.payments.payment.declined.v1")
    assert decline.data["reason"] == "card_declined"
    async with db.connect() as conn:
        unsent = await conn.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL OR quarantined IS NOT NULL"
            )
        )
    assert unsent == 0


async def test_a_broker_outage_delays_events_but_not_payments(
    api: httpx.AsyncClient, broker: InMemoryBroker, db: AsyncEngine, eventually: Any
) -> None:
    broker.fail = True
    order_id = uuid.uuid4()

    response = await api.post("/internal/payments", json=_body(order_id))

    assert response.status_code == 201
    assert broker.published == []
    broker.fail = False
    await eventually(lambda: len(broker.published) == 1)
    assert broker.published[0].data["paymentId"] == response.json()["paymentId"]


async def test_an_outbox_failure_rolls_back_the_transition_with_it(
    api: httpx.AsyncClient, db: AsyncEngine, count_rows: Any
) -> None:
    order_id = uuid.uuid4()
    await api.post("/internal/payments", json=_body(order_id))
    counts = await count_rows()
    async with db.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'outbox refused'; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox "
                "FOR EACH ROW EXECUTE FUNCTION refuse_outbox()"
            )
        )

    failed = await api.post(f"/internal/payments/{order_id}/capture")

    assert failed.status_code == 500
    assert await count_rows() == counts  # neither the status, the ledger row nor the event
    assert (await api.get(f"/internal/payments/{order_id}")).json()["status"] == "AUTHORIZED"

    async with db.begin() as conn:
        await conn.execute(text("DROP TRIGGER refuse_outbox ON outbox"))
    captured = await api.post(f"/internal/payments/{order_id}/capture")
    assert (captured.status_code, captured.json()["status"]) == (200, "CAPTURED")
    assert await count_rows() == {"payments": 1, "payment_operations": 2, "outbox": 2}
