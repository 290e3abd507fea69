"""Start-up: migrations, readiness and the demo catalog seed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


async def _catalog(client) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/products", params=params)).json()
        items.extend(body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            return items


async def test_ready_once_started(client) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}


async def test_no_seed_unless_asked(client) -> None:
    assert await _catalog(client) == []


async def test_seed_fills_the_catalog_once(settings, start_app) -> None:
    seeded = settings.model_copy(update={"seed_demo_catalog": True})
    async with start_app(seeded) as client:
        first = await _catalog(client)
    async with start_app(seeded) as client:
        second = await _catalog(client)
    assert len(first) >= 20
    assert second == first
    assert len({p["sku"] for p in first}) == len(first)
    assert all(20 <= p["inventory"] <= 500 and p["currency"] == "USD" for p in first)


async def test_two_replicas_seeding_together(settings, start_app) -> None:
    seeded = settings.model_copy(update={"seed_demo_catalog": True})
    async with start_app(seeded) as one, start_app(seeded) as two:
        assert await _catalog(one) == await _catalog(two)
        assert len(await _catalog(one)) >= 20


async def test_seed_leaves_an_existing_catalog_alone(settings, start_app, admin_headers) -> None:
    async with start_app(settings) as client:
        body = {"sku": "MINE-1", "name": "Mine", "price": "1.00", "inventory": 1}
        assert (await client.post("/products", json=body, headers=admin_headers)).status_code == 201
    async with start_app(settings.model_copy(update={"seed_demo_catalog": True})) as client:
        assert [p["sku"] for p in await _catalog(client)] == ["MINE-1"]
