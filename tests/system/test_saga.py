"""The order saga end to end: real processes, real PostgreSQL, real NATS, through the gateway."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from decimal import Decimal

import httpx
import pytest

pytestmark = pytest.mark.system

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def body(product: str, quantity: int = 1, token: str = "tok_visa") -> dict[str, object]:
    return {"items": [{"productId": product, "quantity": quantity}], "paymentToken": token}


def test_order_is_confirmed_paid_stocked_and_notified_once(
    driver, register, make_product, ledgers, gateway: httpx.Client
) -> None:  # type: ignore[no-untyped-def]
    me = register()
    product = make_product(inventory=5, price="10.00")

    async def scenario() -> None:
        [placed] = await driver.place([(me, body(product, 2))], headers={"traceparent": TRACE})
        assert placed.status_code == 202, placed.text
        assert placed.headers["x-trace-id"] == TRACE_ID
        order = placed.json()
        assert order["status"] == "PENDING"
        assert placed.headers["location"] == f"/orders/{order['orderId']}"
        done = await driver.wait_terminal([(me, order["orderId"])])
        assert done[order["orderId"]]["status"] == "CONFIRMED"
        await driver.quiesce()
        ids = [uuid.UUID(order["orderId"])]
        assert await ledgers.captured_orders(ids) == {order["orderId"]}
        assert await ledgers.money_moves(ids) == Decimal("20.00")
        assert await ledgers.stock_moves(ids) == {product: 2}
        # The client's trace crossed the gateway into orders and onto the event it published.
        [(placed_trace,)] = await ledgers.rows(
            "orders",
            "SELECT payload->>'traceparent' FROM outbox WHERE event_type = $1 "
            "AND payload->>'subject' = $2",
            "bazaar.orders.order.placed.v1",
            order["orderId"],
        )
        assert placed_trace.split("-")[1] == TRACE_ID

    asyncio.run(scenario())
    assert gateway.get(f"/products/{product}").json()["inventory"] == 3
    notes = gateway.get("/notifications", headers=me.headers).json()["items"]
    assert [n["kind"] for n in notes] == ["order_confirmed"]


def test_declined_payment_rejects_and_restores_stock(
    driver, register, make_product, ledgers, gateway: httpx.Client
) -> None:  # type: ignore[no-untyped-def]
    me = register()
    product = make_product(inventory=4)

    async def scenario() -> str:
        [placed] = await driver.place([(me, body(product, 3, token="tok_decline"))])
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["orderId"]
        done = await driver.wait_terminal([(me, order_id)])
        assert done[order_id]["status"] == "REJECTED"
        assert done[order_id]["rejectionReason"] == "payment_declined"
        await driver.quiesce()
        ids = [uuid.UUID(order_id)]
        assert await ledgers.captured_orders(ids) == set()
        assert await ledgers.stock_moves(ids) == {}
        return str(order_id)

    order_id = asyncio.run(scenario())
    assert gateway.get(f"/products/{product}").json()["inventory"] == 4
    notes = gateway.get("/notifications", headers=me.headers).json()["items"]
    assert [(n["kind"], n["orderId"]) for n in notes] == [("order_rejected", order_id)]


def test_two_hundred_orders_for_twenty_in_stock_never_oversell(
    driver, register, make_product, ledgers, gateway: httpx.Client
) -> None:  # type: ignore[no-untyped-def]
    product = make_product(inventory=20, price="5.00")
    shoppers = [register() for _ in range(10)]

    async def scenario() -> dict[str, dict[str, object]]:
        placed = await driver.place([(shoppers[i % 10], body(product)) for i in range(200)])
        assert Counter(r.status_code for r in placed) == {202: 200}
        orders = [(shoppers[i % 10], r.json()["orderId"]) for i, r in enumerate(placed)]
        done = await driver.wait_terminal(orders, seconds=240)
        await driver.quiesce()
        ids = [uuid.UUID(oid) for _, oid in orders]
        confirmed = {oid for oid, order in done.items() if order["status"] == "CONFIRMED"}
        assert await ledgers.captured_orders(ids) == confirmed
        assert await ledgers.stock_moves(ids) == {product: 20}
        assert await ledgers.money_moves(ids) == Decimal("100.00")
        return done

    done = asyncio.run(scenario())
    outcomes = Counter((o["status"], o.get("rejectionReason")) for o in done.values())
    assert outcomes == {("CONFIRMED", None): 20, ("REJECTED", "out_of_stock"): 180}
    assert gateway.get(f"/products/{product}").json()["inventory"] == 0


def test_idempotency_key_replays_the_same_order(
    register, make_product, gateway: httpx.Client
) -> None:  # type: ignore[no-untyped-def]
    me = register()
    product = make_product(inventory=10)
    key = {**me.headers, "idempotency-key": f"checkout-{uuid.uuid4()}"}
    first = gateway.post("/orders", json=body(product, 2), headers=key)
    again = gateway.post("/orders", json=body(product, 2), headers=key)
    assert first.status_code == 202, first.text
    assert again.status_code in (200, 202)
    assert again.json()["orderId"] == first.json()["orderId"]
    reused = gateway.post("/orders", json=body(product, 3), headers=key)
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    mine = gateway.get("/orders", headers=me.headers).json()["items"]
    assert [o["orderId"] for o in mine] == [first.json()["orderId"]]


def test_cancelling_a_confirmed_order_refunds_and_restocks(
    driver, register, make_product, ledgers, gateway: httpx.Client
) -> None:  # type: ignore[no-untyped-def]
    me = register()
    product = make_product(inventory=6, price="7.25")

    async def scenario() -> str:
        [placed] = await driver.place([(me, body(product, 2))])
        order_id = str(placed.json()["orderId"])
        done = await driver.wait_terminal([(me, order_id)])
        assert done[order_id]["status"] == "CONFIRMED"
        return order_id

    order_id = asyncio.run(scenario())
    cancelled = gateway.post(f"/orders/{order_id}/cancel", headers=me.headers)
    assert cancelled.status_code in (200, 202), cancelled.text
    assert gateway.get(f"/orders/{order_id}", headers=me.headers).json()["status"] == "CANCELLED"
    stranger = register()
    assert gateway.post(f"/orders/{order_id}/cancel", headers=stranger.headers).status_code == 404

    async def settled() -> None:
        await driver.quiesce()
        ids = [uuid.UUID(order_id)]

        async def compensated() -> bool:
            return await ledgers.money_moves(ids) == 0 and await ledgers.stock_moves(ids) == {}

        await driver.eventually(compensated, what="refund and restock")
        await driver.quiesce()

    asyncio.run(settled())
    assert gateway.get(f"/products/{product}").json()["inventory"] == 6
    kinds = [n["kind"] for n in gateway.get("/notifications", headers=me.headers).json()["items"]]
    assert sorted(kinds) == ["order_cancelled", "order_confirmed"]
