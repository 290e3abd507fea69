"""The real products app on a fresh PostgreSQL database, driven over HTTP in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from bazaar_products.bootstrap import create_app
from bazaar_products.settings import Settings
from chassis.testing import InMemoryBroker, TestTokens

EVENT_SCHEMAS_DIR = Path(__file__).resolve().parents[4] / "contracts" / "events"


@pytest.fixture
def tokens() -> TestTokens:
    return TestTokens()


@pytest.fixture
def admin_headers(tokens: TestTokens) -> dict[str, str]:
    return tokens.headers(roles=["admin"])


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        jwks_url="http://users.invalid/.well-known/jwks.json",  # unused: tests pass a verifier
        nats_url="nats://127.0.0.1:9",  # unused: tests pass an in-memory broker
        event_schemas_dir=EVENT_SCHEMAS_DIR,
        environment="test",
        log_json=False,
        log_level="WARNING",
        # Enough connections for the concurrency tests to really run side by side.
        db_pool_size=30,
        db_max_overflow=30,
    )


@pytest.fixture
def broker() -> InMemoryBroker:
    """Where the outbox relay publishes; every app a test starts shares it."""
    return InMemoryBroker()


@pytest.fixture
def start_app(
    tokens: TestTokens, broker: InMemoryBroker
) -> Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Runs the app, lifespan included (migrations, seeding), and gives a client for it."""

    @asynccontextmanager
    async def start(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings, token_verifier=tokens.verifier, broker=broker)
        async with (
            LifespanManager(app, startup_timeout=60) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://products"
            ) as client,
        ):
            yield client

    return start


@pytest.fixture
async def client(
    settings: Settings,
    start_app: Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    async with start_app(settings) as running:
        yield running


@pytest.fixture
def create_product(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> Callable[..., Awaitable[dict[str, Any]]]:
    counter = iter(range(1_000_000))

    async def create(
        name: str | None = None, *, inventory: int = 10, price: str = "10.00", **extra: Any
    ) -> dict[str, Any]:
        n = next(counter)
        body = {
            "sku": extra.pop("sku", f"SKU-{n:04d}"),
            "name": name or f"Product {n:04d}",
            "price": price,
            "inventory": inventory,
            **extra,
        }
        response = await client.post("/products", json=body, headers=admin_headers)
        assert response.status_code == 201, response.text
        product: dict[str, Any] = response.json()
        return product

    return create
