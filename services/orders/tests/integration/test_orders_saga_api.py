"""The saga through the real app on a real PostgreSQL: 202 then CONFIRMED/REJECTED, events in
the outbox matching their contracts, leases, the sweeper and the background wiring."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bazaar_orders.domain import RequestedLine
from bazaar_orders.order_events import (
    ORDER_CONFIRMED,
    ORDER_PLACED,
    ORDER_REJECTED,
)
from bazaar_orders.saga import SagaState
from bazaar_orders.saga_runner import SagaRunner
from chassis import EventSchemas
from chassis.testing import InMemoryBroker, TestTokens

pytestmark = pytest.mark.integration

PROBLEMS = "https://bazaar.dev/problems"
ALICE = uuid.UUID("00000000-0000-4000-8000-00000000a11c")
BOB = uuid.UUID("00000000-0000-4000-8000-000000000b0b")


async def test_placed_pending_then_confirmed_with_its_events(
    app: FastAPI,
    catalog: Any,
    inventory: Any,
    payments: Any,
    broker: InMemoryBroker,
    get_order: Any,
    place: Any,
    published: Any,
) -> None:
    mug = catalog.add("19.99")
    inventory.stock_up(mug, 10)
    order_id = await place((mug, 3), token="tok_mastercard")
    assert (await get_order(order_id))["status"] == "PENDING"
    assert await published() == [ORDER_PLACED]

    assert await app.state.saga_runner.advance(uuid.UUID(order_id)) is SagaState.DONE

    order = await get_order(order_id)
    assert (order["status"], order["rejectionReason"]) == ("CONFIRMED", None)
    assert inventory.stock == {mug: 7}
    assert payments.status == {uuid.UUID(order_id): "CAPTURED"}
    assert await published() == [ORDER_PLACED, ORDER_CONFIRMED]
    placed, confirmed = broker.published
    assert placed.data["items"] == [{"productId": str(mug), "quantity": 3, "unitPrice": "19.99"}]
    assert confirmed.data["totalAmount"] == "59.97"
    assert confirmed.subject == order_id


@pytest.mark.parametrize(
    ("stock", "token", "reason"),
    [(1, "tok_visa", "out_of_stock"), (10, "tok_decline", "payment_declined")],
    ids=["out-of-stock", "declined"],
)
async def test_rejected_orders_say_why_and_hold_nothing(
    app: FastAPI,
    catalog: Any,
    inventory: Any,
    broker: InMemoryBroker,
    stock: int,
    token: str,
    reason: str,
    get_order: Any,
    place: Any,
    published: Any,
) -> None:
    mug = catalog.add("5.00")
    inventory.stock_up(mug, stock)
    order_id = await place((mug, 2), token=token)

    assert await app.state.saga_runner.advance(uuid.UUID(order_id)) is SagaState.REJECTED

    order = await get_order(order_id)
    assert (order["status"], order["rejectionReason"]) == ("REJECTED", reason)
    assert inventory.stock == {mug: stock}
    assert inventory.held() == {}
    assert await published() == [ORDER_PLACED, ORDER_REJECTED]
    assert broker.published[1].data["reason"] == reason


async def test_racing_runners_make_each_call_once(
    app: FastAPI,
    catalog: Any,
    inventory: Any,
    gated: Any,
    payments: Any,
    get_order: Any,
    place: Any,
) -> None:
    mug = catalog.add("2.00")
    inventory.stock_up(mug, 10)
    order_id = uuid.UUID(await place((mug, 4)))
    runners = [
        SagaRunner(uow=app.state.uow, inventory=gated, payments=payments, owner=f"replica-{i}")
        for i in range(5)
    ]

    first = asyncio.create_task(runners[0].advance(order_id))
    await gated.entered.wait()  # runner 0 holds the lease and is mid-call, no connection held
    others = await asyncio.gather(*(runner.advance(order_id) for runner in runners[1:]))
    gated.gate.set()

    assert others == [None, None, None, None]
    assert await first is SagaState.DONE
    assert inventory.reserve_calls == [order_id]
    assert (payments.calls_of("authorize"), payments.calls_of("capture")) == (1, 1)
    assert inventory.stock == {mug: 6}
    assert (await get_order(str(order_id)))["status"] == "CONFIRMED"


async def test_the_sweeper_resumes_sagas_whose_runner_died_and_due_retries(
    app: FastAPI,
    catalog: Any,
    inventory: Any,
    payments: Any,
    db: AsyncEngine,
    get_order: Any,
    place: Any,
) -> None:
    mug = catalog.add("3.00")
    inventory.stock_up(mug, 10)
    orphan, alive, retrying = [await place((mug, 1)) for _ in range(3)]
    # orphan: its runner reserved stock, then died holding a lease that has since expired.
    await inventory.reserve(uuid.UUID(orphan), [RequestedLine(mug, 1)])
    # alive: another replica holds a current lease on it.
    async with db.begin() as conn:
        await conn.execute(
            text(
                "UPDATE order_sagas SET state = 'AUTHORIZING', lease_owner = 'dead',"
                " lease_until = now() - interval '1 second' WHERE order_id = :id"
            ),
            {"id": orphan},
        )
        await conn.execute(
            text(
                "UPDATE order_sagas SET lease_owner = 'busy',"
                " lease_until = now() + interval '1 minute' WHERE order_id = :id"
            ),
            {"id": alive},
        )
    # retrying: payments was down, so it waits for its backoff to end.
    payments.unavailable = True
    assert await app.state.saga_runner.advance(uuid.UUID(retrying)) is SagaState.AUTHORIZING
    payments.unavailable = False
    async with db.begin() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT attempts, last_error, next_attempt_at >= now() FROM order_sagas"
                    " WHERE order_id = :id"
                ),
                {"id": retrying},
            )
        ).one()
        assert row[0] == 1
        assert "connection refused" in row[1]
        assert row[2]
        await conn.execute(
            text("UPDATE order_sagas SET next_attempt_at = now() WHERE order_id = :id"),
            {"id": retrying},
        )

    driver = app.state.saga_driver
    assert await driver.sweep_once() == 2
    await driver.drain()

    assert (await get_order(orphan))["status"] == "CONFIRMED"
    assert (await get_order(retrying))["status"] == "CONFIRMED"
    assert (await get_order(alive))["status"] == "PENDING"
    assert inventory.reserve_calls.count(uuid.UUID(orphan)) == 1  # resumed where it stopped
    assert inventory.stock == {mug: 8}
    assert await driver.sweep_once() == 0


async def test_with_background_tasks_a_placed_order_confirms_by_itself(
    tokens: TestTokens,
    catalog: Any,
    inventory: Any,
    schemas: EventSchemas,
    eventually: Any,
    order_body: Any,
    build_app: Any,
) -> None:
    # Its own app, with the background tasks on: not the ``app`` fixture (nor what uses it).
    mug = catalog.add("1.50")
    inventory.stock_up(mug, 10)
    broker = InMemoryBroker()
    app = build_app(broker, start_background=True)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://o") as api,
    ):
        alice = tokens.headers(ALICE)
        placed = await api.post("/orders", json=order_body((mug, 2)), headers=alice)
        assert placed.status_code == 202, placed.text
        await app.state.saga_driver.drain()  # the kick after the commit
        order = await api.get(placed.headers["location"], headers=alice)
        assert order.json()["status"] == "CONFIRMED"
        # The relay publishes on its own, woken by each commit.
        await eventually(lambda: len(broker.published) == 2, within=10)
    assert [e.type for e in broker.published] == [ORDER_PLACED, ORDER_CONFIRMED]
    for event in broker.published:
        schemas.validate(event)
