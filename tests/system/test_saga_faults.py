"""Crashes, broker outages and poison messages lose nothing and apply nothing twice."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from decimal import Decimal

import httpx
import nats
import orjson
import pytest

from bazaar_local.system import System

pytestmark = pytest.mark.system

CONFIRMED = "bazaar.orders.order.confirmed.v1"
RETRY_SECONDS = 0.1  # a client retrying a failed checkout


def body(product: str, quantity: int, token: str) -> dict[str, object]:
    return {"items": [{"productId": product, "quantity": quantity}], "paymentToken": token}


async def balanced(driver, ledgers, orders: dict[str, dict[str, object]]) -> None:  # type: ignore[no-untyped-def]
    """The books agree with the orders: stock, money, and one notification per outcome."""
    await driver.quiesce(seconds=120)
    ids = [uuid.UUID(oid) for oid in orders]
    confirmed = {oid: o for oid, o in orders.items() if o["status"] == "CONFIRMED"}
    expected_stock: Counter[str] = Counter()
    for order in confirmed.values():
        for line in order["items"]:  # type: ignore[attr-defined]
            expected_stock[line["productId"]] += line["quantity"]
    assert await ledgers.stock_moves(ids) == dict(expected_stock)
    assert await ledgers.money_moves(ids) == sum(
        (Decimal(str(o["totalAmount"])) for o in confirmed.values()), Decimal("0.00")
    )
    assert await ledgers.captured_orders(ids) == set(confirmed)
    kinds = {"CONFIRMED": ["order_confirmed"], "REJECTED": ["order_rejected"]}
    notified = await ledgers.notifications_per_order(ids)
    assert notified == {oid: kinds[str(o["status"])] for oid, o in orders.items()}


def test_orders_killed_twice_mid_flight_loses_and_doubles_nothing(
    shop: System, driver, ledgers, register, make_product
) -> None:  # type: ignore[no-untyped-def]
    products = [make_product(inventory=30, price="3.50"), make_product(inventory=30, price="8.00")]
    shoppers = [register() for _ in range(10)]
    tokens = ["tok_visa"] * 4 + ["tok_decline"]
    requests = [
        (shoppers[i % 10], body(products[i % 2], 1 + i % 3, tokens[i % 5]), f"crash-{uuid.uuid4()}")
        for i in range(100)
    ]

    async def place_until_accepted(client: httpx.AsyncClient, who, payload, key) -> str:  # type: ignore[no-untyped-def]
        # A client whose request died with the orders process retries with the same key.
        for _ in range(600):
            try:
                answer = await client.post(
                    "/orders", json=payload, headers={**who.headers, "idempotency-key": key}
                )
                if answer.status_code in (200, 202):
                    return str(answer.json()["orderId"])
            except httpx.TransportError:
                pass
            await asyncio.sleep(RETRY_SECONDS)
        raise AssertionError("order never accepted")

    async def scenario() -> dict[str, dict[str, object]]:
        async with httpx.AsyncClient(base_url=shop.gateway_url, timeout=30) as client:
            placing = asyncio.gather(*(place_until_accepted(client, *r) for r in requests))
            await driver.eventually(lambda: _orders_stored(ledgers, 20), what="orders stored")
            await asyncio.to_thread(shop.kill_service, "orders", signal.SIGKILL)
            await asyncio.to_thread(shop.restart_service, "orders")
            order_ids = await placing
        await driver.eventually(lambda: _some_terminal(ledgers, order_ids, 10), what="progress")
        await asyncio.to_thread(shop.kill_service, "orders", signal.SIGKILL)
        await asyncio.to_thread(shop.restart_service, "orders")
        owners = {oid: requests[i][0] for i, oid in enumerate(order_ids)}
        assert len(set(order_ids)) == 100
        done = await driver.wait_terminal([(owners[o], o) for o in order_ids], seconds=240)
        await balanced(driver, ledgers, done)
        return done

    done = asyncio.run(scenario())
    assert {o["status"] for o in done.values()} <= {"CONFIRMED", "REJECTED"}


async def _orders_stored(ledgers, count: int) -> bool:  # type: ignore[no-untyped-def]
    rows = await ledgers.rows("orders", "SELECT count(*) FROM orders WHERE status = 'PENDING'")
    return int(rows[0][0]) >= count


async def _some_terminal(ledgers, order_ids: list[str], count: int) -> bool:  # type: ignore[no-untyped-def]
    rows = await ledgers.rows(
        "orders",
        "SELECT count(*) FROM orders WHERE status <> 'PENDING' AND order_id = ANY($1::uuid[])",
        [uuid.UUID(o) for o in order_ids],
    )
    return int(rows[0][0]) >= count


def test_broker_outage_delays_events_but_loses_none(
    shop: System, driver, ledgers, register, make_product
) -> None:  # type: ignore[no-untyped-def]
    product = make_product(inventory=100, price="2.00")
    shoppers = [register() for _ in range(5)]

    async def scenario() -> None:
        first = await driver.place(
            [(shoppers[i % 5], body(product, 1, "tok_visa")) for i in range(15)]
        )
        await asyncio.to_thread(shop.stop_broker)
        try:
            second = await driver.place(
                [(shoppers[i % 5], body(product, 1, "tok_visa")) for i in range(15)]
            )
            placed = first + second
            assert {r.status_code for r in placed} == {202}
            orders = [(shoppers[i % 5], r.json()["orderId"]) for i, r in enumerate(placed)]
            # The saga runs over HTTP, so orders finish while their events wait in the outboxes.
            done = await driver.wait_terminal(orders, seconds=120)
            assert await ledgers.unpublished() > 0
        finally:
            await asyncio.to_thread(shop.start_broker)
        await balanced(driver, ledgers, done)
        rows = await ledgers.rows(
            "notifications", "SELECT count(*) FROM inbox WHERE consumer = 'notifications'"
        )
        notes = await ledgers.rows("notifications", "SELECT count(*) FROM notifications")
        assert rows[0][0] == notes[0][0]

    asyncio.run(scenario())


def test_poison_event_is_dead_lettered_while_the_rest_flow(
    shop: System, driver, ledgers, register, make_product
) -> None:  # type: ignore[no-untyped-def]
    me = register()
    product = make_product(inventory=5)
    poison = {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "/bazaar/orders",
        "type": CONFIRMED, "time": "2026-11-22T10:00:00Z", "datacontenttype": "application/json",
        "subject": "x", "data": {"orderId": "not-a-uuid", "totalAmount": 12},
    }  # fmt: skip

    async def scenario() -> None:
        connection = await nats.connect(shop.nats_url)
        try:
            js = connection.jetstream()
            await js.publish(CONFIRMED, orjson.dumps(poison), headers={"Nats-Msg-Id": poison["id"]})
            [placed] = await driver.place([(me, body(product, 1, "tok_visa"))])
            order_id = placed.json()["orderId"]
            await driver.wait_terminal([(me, order_id)])

            async def dead_lettered() -> bool:
                try:
                    last = await js.get_last_msg("BAZAAR_DLQ", "bazaar.dlq.notifications")
                except nats.js.errors.NotFoundError:
                    return False
                return orjson.loads(last.data)["id"] == poison["id"]

            await driver.eventually(dead_lettered, seconds=90, what="poison in the DLQ")
            await driver.quiesce()
            assert await ledgers.notifications_per_order([uuid.UUID(order_id)]) == {
                order_id: ["order_confirmed"]
            }
        finally:
            await connection.close()

    asyncio.run(scenario())
