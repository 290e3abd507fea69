"""Upstreams failing for real: the catalog fallback, circuit breakers, deadlines, the bulkhead and
admission control."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiohttp import web

pytestmark = pytest.mark.integration

UNAVAILABLE = "https://bazaar.dev/problems/upstream-unavailable"
# Keeps breakers out of the way of tests that are not about them.
NO_BREAKER = {"breaker_min_calls": 1000}


def _header(seen: dict[str, Any], name: str) -> list[str]:
    return [v.decode() for k, v in seen["headers"] if k.decode().lower() == name]


def catalog_answers(request: web.Request) -> web.Response:
    """A products service whose answers show which query they were for."""
    return web.json_response({"items": [{"id": "p-1"}], "query": request.query_string})


async def answering_500(request: web.Request) -> web.Response:
    return web.json_response({"title": "boom"}, status=500)


async def test_products_failing_serves_the_last_good_page_marked_cached(
    start_gateway, products, orders, as_problem
) -> None:
    async def healthy(request: web.Request) -> web.Response:
        return catalog_answers(request)

    products.respond = healthy
    async with start_gateway(products_url=products.url, orders_url=orders.url, **NO_BREAKER) as c:
        fresh = await c.get("/products?limit=5")
        fresh_one = await c.get("/products/p-1")
        products.respond = answering_500
        fallback = await c.get("/products?limit=5")
        fallback_one = await c.get("/products/p-1")
        other_page = await c.get("/products?limit=6")
        metrics = await c.get("/metrics")
    assert fresh.status_code == 200
    assert fresh.json() == {"items": [{"id": "p-1"}], "query": "limit=5"}
    assert "x-cache" not in fresh.headers
    assert fallback.status_code == fallback_one.status_code == 200
    assert fallback.json() == {"items": [{"id": "p-1"}], "query": "limit=5", "cached": True}
    assert fresh_one.json() == {"items": [{"id": "p-1"}], "query": ""}
    assert fallback_one.json() == {**fresh_one.json(), "cached": True}
    assert fallback.headers["x-cache"] == "fallback"
    assert int(fallback.headers["age"]) >= 0
    assert fallback.headers["content-type"] == "application/json"
    assert fallback.headers["ratelimit-limit"]  # limits still apply and say so
    # Another query string was never seen: nothing to fall back on.
    assert other_page.status_code == 503
    body = as_problem(other_page)
    assert body["type"] == UNAVAILABLE
    assert body["service"] == "products"
    assert 'bazaar_fallbacks_served_total{route="GET /products"} 1.0' in metrics.text
    assert 'bazaar_fallbacks_served_total{route="GET /products/{productId}"} 1.0' in metrics.text


async def test_a_product_gone_since_is_not_served_from_the_fallback(
    start_gateway, products, orders
) -> None:
    async def gone(request: web.Request) -> web.Response:
        return web.json_response({"title": "Not Found"}, status=404)

    async with start_gateway(products_url=products.url, orders_url=orders.url, **NO_BREAKER) as c:
        await c.get("/products/p-9")
        products.respond = gone
        deleted = await c.get("/products/p-9")
        products.respond = answering_500
        during_outage = await c.get("/products/p-9")
    assert deleted.status_code == 404
    assert during_outage.status_code == 503


async def test_answers_to_token_holders_are_not_kept_for_others(
    start_gateway, products, orders, tokens
) -> None:
    async def healthy(request: web.Request) -> web.Response:
        return catalog_answers(request)

    products.respond = healthy
    async with start_gateway(products_url=products.url, orders_url=orders.url, **NO_BREAKER) as c:
        await c.get("/products?mine=1", headers=tokens.headers())
        products.respond = answering_500
        after = await c.get("/products?mine=1")
    assert after.status_code == 503


async def test_a_hanging_products_gets_fallback_or_a_fast_503_within_the_deadline(
    start_gateway, products, orders, as_problem
) -> None:
    """The client's 1 s deadline bounds every call: the test finishing is the proof that
    nothing waited on the hanging upstream (which is released only at teardown)."""

    async def hanging(request: web.Request) -> web.Response:
        await products.release_slow.wait()
        return web.json_response({"late": True})

    deadline = {"X-Request-Deadline-Ms": "1000"}
    async with start_gateway(products_url=products.url, orders_url=orders.url) as c:
        await c.get("/products?page=1")  # the usual answer, now the last good one
        products.respond = hanging
        cached = await c.get("/products?page=1", headers=deadline)
        uncached = await c.get("/products?page=2", headers=deadline)
    assert cached.status_code == 200
    assert cached.json()["cached"] is True
    assert cached.headers["x-cache"] == "fallback"
    assert uncached.status_code == 503
    assert as_problem(uncached)["service"] == "products"
    # The upstream was told how much time it had: at most the client's second.
    told = int(_header(products.seen[-1], "x-request-deadline-ms")[0])
    assert 0 < told <= 1000


async def test_other_routes_time_out_with_a_504_at_the_deadline(
    start_gateway, products, orders, as_problem
) -> None:
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, request_deadline_seconds=0.5
    ) as c:
        response = await c.get("/slow")  # hangs until teardown
    assert response.status_code == 504
    assert as_problem(response)["type"] == "https://bazaar.dev/problems/upstream-timeout"


async def test_the_deadline_sent_on_is_the_smaller_of_ours_and_the_clients(
    start_gateway, products, orders, as_problem
) -> None:
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, request_deadline_seconds=2
    ) as c:
        await c.get("/products/p-1")
        await c.get("/products/p-1", headers={"X-Request-Deadline-Ms": "60000"})
        await c.get("/products/p-1", headers={"X-Request-Deadline-Ms": "700"})
        spent = await c.get("/products/p-1", headers={"X-Request-Deadline-Ms": "0"})
    told = [int(_header(s, "x-request-deadline-ms")[0]) for s in products.seen]
    assert len(told) == 3  # the spent one never left the gateway
    assert 1000 < told[0] <= 2000
    assert 1000 < told[1] <= 2000
    assert 0 < told[2] <= 700
    assert all(len(_header(s, "x-request-deadline-ms")) == 1 for s in products.seen)
    assert spent.status_code == 504
    assert as_problem(spent)["type"] == "https://bazaar.dev/problems/deadline-exceeded"


async def test_the_breaker_opens_and_later_calls_fail_fast_without_reaching_the_upstream(
    start_gateway, products, orders, as_problem
) -> None:
    orders.respond = answering_500
    async with start_gateway(
        products_url=products.url,
        orders_url=orders.url,
        breaker_min_calls=4,
        breaker_failure_ratio=0.5,
        breaker_open_seconds=60,
    ) as c:
        failing = [await c.get("/orders/summary") for _ in range(4)]
        refused = [await c.get("/orders/summary") for _ in range(5)]
        other_upstream = await c.get("/products/p-1")
        metrics = await c.get("/metrics")
    # Upstream 500s pass through unchanged until the breaker opens.
    assert [r.status_code for r in failing] == [500] * 4
    assert [r.status_code for r in refused] == [503] * 5
    body = as_problem(refused[0])
    assert body["type"] == UNAVAILABLE
    assert body["service"] == "orders"
    assert "circuit open" in body["detail"]
    assert 1 <= int(refused[0].headers["retry-after"]) <= 60
    assert orders.calls("/orders/summary") == 4  # nothing after it opened
    assert other_upstream.status_code == 200  # one breaker per upstream
    text = metrics.text
    assert 'bazaar_circuit_breaker_state{upstream="orders"} 2.0' in text
    assert 'bazaar_circuit_breaker_state{upstream="products"} 0.0' in text
    assert 'bazaar_upstream_requests_total{outcome="rejected_open",upstream="orders"} 5.0' in text
    assert 'bazaar_upstream_requests_total{outcome="error",upstream="orders"} 4.0' in text


async def test_an_open_products_breaker_still_serves_the_catalog_fallback(
    start_gateway, products, orders
) -> None:
    # One success and two failures: 3 calls, two thirds failed, the breaker opens.
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, breaker_min_calls=3
    ) as c:
        await c.get("/products")
        products.respond = answering_500
        during = [await c.get("/products") for _ in range(2)]
        hits_when_open = products.calls("/products")
        after = await c.get("/products")
    assert all(r.json()["cached"] is True for r in [*during, after])
    assert products.calls("/products") == hits_when_open == 3


async def test_client_shortened_timeouts_do_not_open_the_breaker(
    start_gateway, products, orders
) -> None:
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, breaker_min_calls=2
    ) as c:
        short = {"X-Request-Deadline-Ms": "200"}
        timeouts = [await c.get("/slow", headers=short) for _ in range(3)]
        products.release_slow.set()
        later = await c.get("/slow")
    assert [r.status_code for r in timeouts] == [504] * 3
    assert later.status_code == 200
    assert later.json() == {"late": True}


async def test_a_full_bulkhead_refuses_at_once(start_gateway, products, orders, as_problem) -> None:
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, bulkhead_max_concurrent=1
    ) as c:
        slow = asyncio.create_task(c.get("/slow"))
        await products.slow_started.wait()
        refused = await c.get("/products/p-1")
        products.release_slow.set()
        done = await slow
    assert refused.status_code == 503
    assert "too many calls" in as_problem(refused)["detail"]
    assert done.status_code == 200
    assert products.calls("/products/p-1") == 0


async def test_admission_control_sheds_excess_but_not_health(
    start_gateway, products, orders, as_problem
) -> None:
    async with start_gateway(
        products_url=products.url,
        orders_url=orders.url,
        max_inflight_requests=1,
        max_queue_seconds=0,
    ) as c:
        slow = asyncio.create_task(c.get("/slow"))
        await products.slow_started.wait()
        shed = await c.get("/products/p-1")
        health = await c.get("/health")
        products.release_slow.set()
        done = await slow
        metrics = await c.get("/metrics")
    assert shed.status_code == 503
    assert shed.headers["retry-after"] == "1"
    assert as_problem(shed)["type"] == "https://bazaar.dev/problems/overloaded"
    assert health.status_code == 200
    assert done.status_code == 200
    assert 'bazaar_requests_shed_total{reason="inflight"} 1.0' in metrics.text
    assert orjson.loads(done.content) == {"late": True}
