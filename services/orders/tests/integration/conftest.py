"""The real orders app on a fresh PostgreSQL database, with products and payments faked behind
our ports, an in-memory broker, and the saga driven by the test (no background tasks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bazaar_orders.bootstrap import create_app
from bazaar_orders.settings import Settings
from chassis import EventSchemas
from chassis.testing import InMemoryBroker, TestTokens

EVENT_SCHEMAS_DIR = Path(__file__).resolve().parents[4] / "contracts" / "events"
TABLES = ("orders", "order_items", "order_sagas", "idempotency_keys", "outbox")


@pytest.fixture
def tokens() -> TestTokens:
    return TestTokens()


@pytest.fixture
def broker() -> InMemoryBroker:
    return InMemoryBroker()


@pytest.fixture
def schemas() -> EventSchemas:
    return EventSchemas.load(EVENT_SCHEMAS_DIR)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        # Never called: tokens are checked by TestTokens' verifier, the others are faked.
        jwks_url="http://127.0.0.1:9/.well-known/jwks.json",
        products_url="http://127.0.0.1:9",
        payments_url="http://127.0.0.1:9",
        nats_url="nats://127.0.0.1:9",
        event_schemas_dir=EVENT_SCHEMAS_DIR,
        environment="test",
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture
async def app(
    settings: Settings,
    catalog: Any,
    inventory: Any,
    payments: Any,
    broker: InMemoryBroker,
    tokens: TestTokens,
) -> AsyncIterator[FastAPI]:
    app = create_app(
        settings,
        catalog=catalog,
        inventory=inventory,
        payments=payments,
        broker=broker,
        token_verifier=tokens.verifier,
        start_background=False,
    )
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
        yield client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def count_rows(db: AsyncEngine) -> Any:
    async def count() -> dict[str, int]:
        counts: dict[str, int] = {}
        async with db.connect() as conn:
            for table in TABLES:
                counts[table] = int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608
        return counts

    return count


@pytest.fixture
def nothing_written() -> dict[str, int]:
    return dict.fromkeys(TABLES, 0)
