"""RED metrics per route template and the pool gauges, read back from the real exposition."""

from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from prometheus_client.parser import text_string_to_metric_families

from chassis import Database, ServiceSettings, create_service_app
from chassis.metrics import ServiceMetrics


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/orders/{order_id}")
    async def get_order(order_id: int) -> dict[str, int]:
        return {"id": order_id}

    return router


def _samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def _key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


async def _scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return _samples(response.text)


def _app() -> FastAPI:
    settings = ServiceSettings(service_name="sample")
    return create_service_app(settings, title="Sample", routers=[_router()])


async def test_requests_are_counted_by_route_template_method_and_status() -> None:
    app = _app()
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sample") as client:
            for order_id in (1, 2, 3):
                assert (await client.get(f"/orders/{order_id}")).status_code == 200
            assert (await client.get("/orders/not-a-number")).status_code == 422
            assert (await client.get("/no/such/path")).status_code == 404
            await client.get("/health")
            samples = await _scrape(client)

    route = "/orders/{order_id}"
    total = "bazaar_http_requests_total"
    assert samples[_key(total, method="GET", route=route, status="200")] == 3
    assert samples[_key(total, method="GET", route=route, status="422")] == 1
    assert samples[_key(total, method="GET", route="unmatched", status="404")] == 1
    count = "bazaar_http_request_duration_seconds_count"
    assert samples[_key(count, method="GET", route=route)] == 4
    inf_bucket = _key(
        "bazaar_http_request_duration_seconds_bucket", method="GET", route=route, le="+Inf"
    )
    assert samples[inf_bucket] == 4
    # Probes and scrapes are not traffic: no series for them, and no raw paths as labels.
    routes = {dict(labels).get("route") for (name, labels) in samples if name == total}
    assert routes == {route, "unmatched"}


async def test_pool_gauges_are_exposed_even_without_a_database() -> None:
    samples = _samples(ServiceMetrics(service="sample").render()[0].decode())

    assert samples[_key("bazaar_db_pool_checked_out")] == 0
    assert samples[_key("bazaar_db_pool_size")] == 0


@pytest.mark.integration
async def test_pool_gauges_read_the_watched_database_at_scrape_time(database_url: str) -> None:
    metrics = ServiceMetrics(service="sample")
    database = Database(database_url, pool_size=3)
    metrics.watch_database(database)
    read = metrics.registry.get_sample_value
    try:
        async with database.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
            assert read("bazaar_db_pool_checked_out") == 1
            assert read("bazaar_db_pool_size") == 3
        assert read("bazaar_db_pool_checked_out") == 0
    finally:
        metrics.unwatch_database(database)
        await database.dispose()
    assert read("bazaar_db_pool_size") == 0
