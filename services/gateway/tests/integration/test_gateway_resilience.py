"""Upstreams that are down or slow, load balancing, readiness, and refusing to start."""

from __future__ import annotations

from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager

from bazaar_gateway.bootstrap import create_app
from bazaar_gateway.routes import RouteTableError
from bazaar_gateway.settings import Settings

pytestmark = pytest.mark.integration


async def test_upstream_down_is_a_502_problem_naming_the_service_not_its_address(
    start_gateway, products, port_nobody_listens_on, as_problem
) -> None:
    down = f"http://127.0.0.1:{port_nobody_listens_on}"
    async with start_gateway(products_url=products.url, orders_url=down) as client:
        response = await client.get("/orders/summary")
        posted = await client.post("/echo", content=b"still fine")
    body = as_problem(response)
    assert response.status_code == 502
    assert body["service"] == "orders"
    assert body["type"] == "https://bazaar.dev/problems/upstream-unavailable"
    assert "orders" in body["detail"]
    assert str(port_nobody_listens_on) not in response.text
    assert "127.0.0.1" not in response.text
    assert posted.status_code == 200  # other upstreams are unaffected


async def test_upstream_slower_than_the_timeout_is_a_504_problem(
    start_gateway, products, orders, as_problem
) -> None:
    async with start_gateway(
        products_url=products.url, orders_url=orders.url, upstream_timeout_seconds=0.3
    ) as client:
        response = await client.get("/slow")
    body = as_problem(response)
    assert response.status_code == 504
    assert body["service"] == "products"
    assert body["type"] == "https://bazaar.dev/problems/upstream-timeout"
    assert products.url.split("//")[1] not in response.text


async def test_requests_are_spread_round_robin_over_instances(
    start_gateway, products, products_b, orders
) -> None:
    urls = f"{products.url},{products_b.url}"
    async with start_gateway(products_url=urls, orders_url=orders.url) as client:
        instances = [(await client.get("/products")).json()["instance"] for _ in range(6)]
    assert instances == ["products-a", "products-b"] * 3


async def test_a_refused_connection_is_retried_on_the_next_instance(
    start_gateway, products, orders, port_nobody_listens_on
) -> None:
    urls = f"http://127.0.0.1:{port_nobody_listens_on},{products.url}"
    async with start_gateway(products_url=urls, orders_url=orders.url) as client:
        responses = [await client.get("/products/p-1") for _ in range(4)]
    assert [r.status_code for r in responses] == [200] * 4
    assert len(products.seen) == 4


async def test_health_is_always_ok_and_ready_needs_every_upstream(
    start_gateway, products, orders, port_nobody_listens_on, as_problem
) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        health = await client.get("/health")
        ready = await client.get("/ready")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"routes": "ok", "products": "ok", "orders": "ok"}

    down = f"http://127.0.0.1:{port_nobody_listens_on}"
    async with start_gateway(products_url=f"{products.url},{down}", orders_url=orders.url) as c:
        not_ready = await c.get("/ready")
        still_alive = await c.get("/health")
    body = as_problem(not_ready)
    assert not_ready.status_code == 503
    assert body["checks"]["products"].startswith("failed: 1 of 2 instances")
    assert body["checks"]["orders"] == "ok"
    assert str(port_nobody_listens_on) not in not_ready.text
    assert still_alive.status_code == 200


async def test_a_contract_naming_a_service_without_a_url_stops_start_up(
    contracts_dir: Path, tokens, products
) -> None:
    settings = Settings(
        openapi_dir=contracts_dir, jwks_url="http://127.0.0.1:9/jwks", products_url=products.url
    )
    app = create_app(settings, token_verifier=tokens.verifier)
    with pytest.raises(RouteTableError, match="ORDERS_URL is not set"):
        async with LifespanManager(app):
            pass


async def test_a_folder_without_contracts_stops_start_up(tmp_path: Path, tokens) -> None:
    settings = Settings(
        openapi_dir=tmp_path, jwks_url="http://127.0.0.1:9/jwks", products_url="http://p:1"
    )
    app = create_app(settings, token_verifier=tokens.verifier)
    with pytest.raises(RouteTableError, match=r"no <service>\.json contracts"):
        async with LifespanManager(app):
            pass
