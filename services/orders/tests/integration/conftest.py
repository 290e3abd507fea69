"""The real orders app on a fresh PostgreSQL database, with the products ports faked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bazaar_orders.bootstrap import create_app
from bazaar_orders.settings import Settings
from chassis.testing import TestTokens


@pytest.fixture
def tokens() -> TestTokens:
    return TestTokens()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        # Never called: tokens are checked by TestTokens' verifier, products are faked.
        jwks_url="http://127.0.0.1:9/.well-known/jwks.json",
        products_url="http://127.0.0.1:9",
        environment="test",
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture
async def api(
    settings: Settings, catalog: Any, inventory: Any, tokens: TestTokens
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, catalog=catalog, inventory=inventory, token_verifier=tokens.verifier)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://orders"
        ) as client,
    ):
        yield client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def count_rows(db: AsyncEngine) -> Any:
    async def count() -> dict[str, int]:
        async with db.connect() as conn:
            orders = await conn.scalar(text("SELECT count(*) FROM orders"))
            items = await conn.scalar(text("SELECT count(*) FROM order_items"))
        return {"orders": int(orders or 0), "order_items": int(items or 0)}

    return count
