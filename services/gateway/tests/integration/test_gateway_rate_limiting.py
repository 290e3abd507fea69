"""Rate limits through real sockets: per client (token subject, else address), per route, with
the IETF draft headers, 429 problems, and unauthenticated attempts paid for by the address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

RATE_LIMITED = "https://bazaar.dev/problems/rate-limited"
# Slow enough that no token comes back while a test runs.
TRICKLE = 0.01


def _limits(burst: int, **routes: dict[str, float]) -> dict[str, Any]:
    return {"default": {"rate": TRICKLE, "burst": burst}, **routes}


@asynccontextmanager
async def from_address(client: httpx.AsyncClient, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another client, connecting from another loopback address (Linux routes all 127/8)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=client.base_url, transport=transport) as other:
        yield other


def _rate_headers(response: httpx.Response) -> tuple[str, str, str]:
    h = response.headers
    return h["ratelimit-limit"], h["ratelimit-remaining"], h["ratelimit-reset"]


async def test_a_client_over_its_limit_gets_429_while_another_address_is_unaffected(
    start_gateway, products, orders, as_problem
) -> None:
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, rate_limits=_limits(3)
    ) as client:
        allowed = [await client.get("/products/p-1") for _ in range(3)]
        refused = await client.get("/products/p-1")
        async with from_address(client, "127.0.0.2") as other:
            elsewhere = await other.get("/products/p-1")
    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [_rate_headers(r)[:2] for r in allowed] == [("3", "2"), ("3", "1"), ("3", "0")]
    assert refused.status_code == 429
    body = as_problem(refused)
    assert body["type"] == RATE_LIMITED
    assert "GET /products/{productId}" in body["detail"]
    assert _rate_headers(refused)[:2] == ("3", "0")
    # At 0.01 tokens/s one token is 100 s away, a full bucket 300 s.
    assert int(refused.headers["retry-after"]) == 100
    assert int(refused.headers["ratelimit-reset"]) == 300
    assert elsewhere.status_code == 200
    assert _rate_headers(elsewhere)[:2] == ("3", "2")
    assert products.calls("/products/p-1") == 4  # the refused request never reached it


async def test_authenticated_clients_are_limited_by_their_token_subject(
    start_gateway, products, orders, tokens
) -> None:
    alice, bob = tokens.headers(), tokens.headers()
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, rate_limits=_limits(3)
    ) as client:
        alice_answers = [await client.get("/orders/o-1", headers=alice) for _ in range(4)]
        bob_answer = await client.get("/orders/o-1", headers=bob)
    assert [r.status_code for r in alice_answers] == [200, 200, 200, 429]
    assert alice_answers[-1].headers["retry-after"] == "100"
    # Same address, other user: a bucket of its own.
    assert bob_answer.status_code == 200
    assert _rate_headers(bob_answer)[:2] == ("3", "2")
    assert orders.calls("/orders/o-1") == 4


async def test_a_route_with_its_own_limit_has_its_own_bucket(
    start_gateway, contracts_writer, contracts, products, orders, users, as_problem
) -> None:
    users_contract = {
        "openapi": "3.1.0",
        "info": {"title": "users", "version": "0.1.0"},
        "paths": {
            "/auth/token": {"post": {"responses": {"200": {"description": "OK"}}}},
            "/users": {"post": {"responses": {"201": {"description": "Created"}}}},
        },
    }
    folder = contracts_writer({**contracts, "users": users_contract})
    limits = _limits(50, **{"POST /auth/token": {"rate": TRICKLE, "burst": 2}})
    credentials = {"email": "a@example.com", "password": "guess"}
    async with start_gateway(
        openapi_dir=folder,
        products_url=products.url,
        orders_url=orders.url,
        users_url=users.url,
        rate_limits=limits,
    ) as client:
        logins = [await client.post("/auth/token", json=credentials) for _ in range(3)]
        signup = await client.post("/users", json=credentials)
        browsing = await client.get("/products")
    assert [r.status_code for r in logins] == [200, 200, 429]
    assert _rate_headers(logins[0])[:2] == ("2", "1")
    assert "POST /auth/token" in as_problem(logins[2])["detail"]
    # Other routes draw on the default limit, untouched by the logins.
    assert signup.status_code == browsing.status_code == 200
    assert _rate_headers(signup)[:2] == ("50", "49")
    assert _rate_headers(browsing)[:2] == ("50", "48")
    assert users.calls("/auth/token") == 2


async def test_failed_token_checks_are_paid_for_by_the_address_then_refused_before_checking(
    start_gateway, products, orders, tokens, as_problem
) -> None:
    forged = {"Authorization": "Bearer not.a.token"}
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, rate_limits=_limits(3)
    ) as client:
        # Valid tokens cost the address nothing: users sharing one address are not limited
        # by each other.
        users = [await client.get("/orders/o-1", headers=tokens.headers()) for _ in range(5)]
        guesses = [await client.get("/orders/o-1", headers=forged) for _ in range(4)]
        # Once the address has used up its attempts, an unknown token from it is refused
        # unchecked (a token already verified keeps working: it is its user's bucket).
        same_address = await client.get("/orders/o-1", headers=tokens.headers())
        async with from_address(client, "127.0.0.3") as other:
            elsewhere = await other.get("/orders/o-1", headers=tokens.headers())
    assert [r.status_code for r in users] == [200] * 5
    assert [r.status_code for r in guesses] == [401, 401, 401, 429]
    assert [r.headers["ratelimit-remaining"] for r in guesses[:3]] == ["2", "1", "0"]
    assert "malformed" in as_problem(guesses[0])["detail"]
    assert as_problem(guesses[3])["type"] == RATE_LIMITED
    assert same_address.status_code == 429
    assert elsewhere.status_code == 200
    assert orders.calls("/orders/o-1") == 6


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    start_gateway, products, orders
) -> None:
    first = {"X-Forwarded-For": "203.0.113.1"}
    second = {"X-Forwarded-For": "203.0.113.2"}
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, rate_limits=_limits(1)
    ) as client:
        untrusted = [await client.get("/products", headers=h) for h in (first, second)]
    async with start_gateway(
        products_url=products.url,
        orders_url=orders.url,
        rate_limits=_limits(1),
        trusted_proxies="127.0.0.1",
    ) as client:
        trusted = [await client.get("/products", headers=h) for h in (first, second, first)]
    # Not trusted: the header is ignored, both are the same peer.
    assert [r.status_code for r in untrusted] == [200, 429]
    assert [r.status_code for r in trusted] == [200, 200, 429]


async def test_own_endpoints_are_exempt_and_metrics_count_refusals(
    start_gateway, products, orders
) -> None:
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, rate_limits=_limits(1)
    ) as client:
        await client.get("/products")
        await client.get("/products")
        own = [await client.get(p) for p in ("/health", "/metrics", "/health", "/metrics")]
    assert [r.status_code for r in own] == [200] * 4
    assert "ratelimit-limit" not in own[0].headers
    assert own[-1].headers["content-type"].startswith("text/plain")
    assert 'bazaar_rate_limited_total{route="GET /products"} 1.0' in own[-1].text
