"""No oversell: concurrent orders for scarce stock confirm exactly the stock."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

pytestmark = pytest.mark.system


def test_fifty_concurrent_orders_for_ten_in_stock(
    driver, gateway: httpx.Client, make_product, register
) -> None:  # type: ignore[no-untyped-def]
    product = make_product(inventory=10)
    shoppers = [register() for _ in range(5)]
    line = {"items": [{"productId": product, "quantity": 1}]}

    async def place_all() -> dict[str, dict[str, object]]:
        placed = await driver.place([(shoppers[i % 5], line) for i in range(50)])
        assert Counter(r.status_code for r in placed) == {202: 50}
        orders = [(shoppers[i % 5], r.json()["orderId"]) for i, r in enumerate(placed)]
        return await driver.wait_terminal(orders)

    done = asyncio.run(place_all())
    assert Counter(o["status"] for o in done.values()) == {"CONFIRMED": 10, "REJECTED": 40}
    assert {o["rejectionReason"] for o in done.values() if o["status"] == "REJECTED"} == {
        "out_of_stock"
    }
    assert gateway.get(f"/products/{product}").json()["inventory"] == 0
