"""No oversell: concurrent orders for scarce stock confirm exactly the stock."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from bazaar_local.system import System

pytestmark = pytest.mark.system


def test_fifty_concurrent_orders_for_ten_in_stock(
    shop: System, gateway: httpx.Client, make_product, register
) -> None:  # type: ignore[no-untyped-def]
    product = make_product(inventory=10)
    shoppers = [register() for _ in range(5)]

    async def place_all() -> list[int]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=shop.gateway_url, timeout=60, limits=limits) as c:
            responses = await asyncio.gather(*(
                c.post(
                    "/orders",
                    json={"items": [{"productId": product, "quantity": 1}]},
                    headers=shoppers[i % 5].headers,
                )
                for i in range(50)
            ))  # fmt: skip
        return [r.status_code for r in responses]

    statuses = Counter(asyncio.run(place_all()))
    assert statuses == {201: 10, 409: 40}
    assert gateway.get(f"/products/{product}").json()["inventory"] == 0
    confirmed = sum(
        len(gateway.get("/orders", headers=s.headers, params={"limit": 100}).json()["items"])
        for s in shoppers
    )
    assert confirmed == 10
