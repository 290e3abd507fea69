"""Products hanging: the gateway serves the last good catalog answers marked `cached: true`,
answers a fast 503 problem+json for what it never saw, and no read waits for the hang."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bazaar_local.chaos import Chaos, Faults
from bazaar_local.system import System

pytestmark = pytest.mark.system

PRODUCTS = "products"
# Far longer than the gateway's deadline: a read that waited for products would show it.
HANG_MS = 10_000
LISTING = "/products?limit=5"
OPEN = 2.0


async def timed_get(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await client.get(path)
    return answer, time.monotonic() - started


def assert_fallback(answer: httpx.Response, fresh: dict[str, object]) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-cache"] == "fallback"
    assert int(answer.headers["age"]) >= 0
    served = answer.json()
    assert served.pop("cached") is True
    assert served == fresh  # the last good body, nothing else changed


async def test_products_hanging_serves_the_cached_catalog_or_a_fast_503(
    resilient_shop: System, resilient_product, resilient_driver, chaos: Chaos, metrics, knobs
) -> None:  # type: ignore[no-untyped-def]
    seen, never_seen = resilient_product(), resilient_product()
    # The bound on every read while products hangs: its deadline plus generous slack, and
    # far below the hang itself.
    bound = knobs.gateway_deadline_seconds + 3.0
    assert bound < HANG_MS / 1000
    async with httpx.AsyncClient(base_url=resilient_shop.gateway_url, timeout=30) as client:
        warm_item, warm_list = await client.get(f"/products/{seen}"), await client.get(LISTING)
        assert warm_item.status_code == warm_list.status_code == 200
        assert "cached" not in warm_item.json()
        fallbacks_before = (await metrics.aread("gateway")).value("bazaar_fallbacks_served_total")

        await asyncio.to_thread(chaos.set, PRODUCTS, Faults(latency_ms=HANG_MS))
        reads = await asyncio.gather(
            *(timed_get(client, path) for path in [f"/products/{seen}", LISTING] * 4)
        )
        for (answer, took), fresh in zip(reads, [warm_item, warm_list] * 4, strict=True):
            assert_fallback(answer, fresh.json())
            assert took < bound, f"a cached read waited {took:.1f}s"

        uncached, took = await timed_get(client, f"/products/{never_seen}")
        assert uncached.status_code in (503, 504), uncached.text
        assert uncached.headers["content-type"].startswith("application/problem+json")
        assert took < bound

        async def breaker_open() -> bool:
            await client.get(f"/products/{seen}")  # keeps telling the breaker products fails
            return (await metrics.aread("gateway")).value(
                "bazaar_circuit_breaker_state", upstream=PRODUCTS
            ) == OPEN

        await resilient_driver.eventually(breaker_open, seconds=60, what="gateway breaker open")
        # Open: nothing waits for products any more.
        uncached, took = await timed_get(client, f"/products/{never_seen}")
        assert uncached.status_code == 503, uncached.text
        assert uncached.headers["content-type"].startswith("application/problem+json")
        assert took < knobs.gateway_deadline_seconds
        cached, took = await timed_get(client, f"/products/{seen}")
        assert_fallback(cached, warm_item.json())
        assert took < knobs.gateway_deadline_seconds
        served = (await metrics.aread("gateway")).value("bazaar_fallbacks_served_total")
        assert served >= fallbacks_before + 9

        await asyncio.to_thread(chaos.clear, PRODUCTS)

        async def fresh_again() -> bool:
            answer = await client.get(f"/products/{never_seen}")
            return answer.status_code == 200 and "cached" not in answer.json()

        # After the open period a probe goes through, succeeds, and the breaker closes.
        await resilient_driver.eventually(fresh_again, seconds=60, what="products served fresh")
