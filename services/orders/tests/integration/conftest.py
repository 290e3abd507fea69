"""The real orders app on a fresh PostgreSQL database, with products and payments faked behind
our ports, an in-memory broker, and the saga driven by the test (no background tasks)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
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
ALICE = uuid.UUID("00000000-0000-4000-8000-00000000a11c")

Body = dict[str, Any]
Line = tuple[uuid.UUID, int]


def _order_body(*lines: Line, token: str | None = None) -> Body:
    body: Body = {"items": [{"productId": str(p), "quantity": q} for p, q in lines]}
    if token is not None:
        body["paymentToken"] = token
    return body


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
def build_app(
    settings: Settings, catalog: Any, inventory: Any, payments: Any, tokens: TestTokens
) -> Callable[..., FastAPI]:
    """The orders app over the fakes; ``build_app(broker=..., start_background=...)``."""

    def build(broker: InMemoryBroker, *, start_background: bool) -> FastAPI:
        return create_app(
            settings,
            catalog=catalog,
            inventory=inventory,
            payments=payments,
            broker=broker,
            token_verifier=tokens.verifier,
            start_background=start_background,
        )

    return build


@pytest.fixture
async def app(build_app: Callable[..., FastAPI], broker: InMemoryBroker) -> AsyncIterator[FastAPI]:
    app = build_app(broker, start_background=False)
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


@pytest.fixture
def order_body() -> Callable[..., Body]:
    """The JSON of ``POST /orders``: ``order_body((product, qty), ..., token=...)``."""
    return _order_body


@pytest.fixture
def place(api: httpx.AsyncClient, tokens: TestTokens) -> Callable[..., Awaitable[str]]:
    """Alice places an order (``place((product, qty), ..., token=...)``); returns its id."""

    async def place_lines(*lines: Line, token: str | None = None) -> str:
        body = _order_body(*lines, token=token)
        response = await api.post("/orders", json=body, headers=tokens.headers(ALICE))
        assert response.status_code == 202, response.text
        order_id: str = response.json()["orderId"]
        return order_id

    return place_lines


@pytest.fixture
def get_order(api: httpx.AsyncClient, tokens: TestTokens) -> Callable[[str], Awaitable[Body]]:
    """One of Alice's orders, as the API shows it."""

    async def get(order_id: str) -> Body:
        response = await api.get(f"/orders/{order_id}", headers=tokens.headers(ALICE))
        assert response.status_code == 200, response.text
        body: Body = response.json()
        return body

    return get


@pytest.fixture
def published(
    app: FastAPI, broker: InMemoryBroker, schemas: EventSchemas
) -> Callable[[], Awaitable[list[str]]]:
    """Relays the outbox and checks every event against its contract; returns their types."""

    async def relay() -> list[str]:
        await app.state.relay.publish_pending()
        for event in broker.published:
            schemas.validate(event)
        return [event.type for event in broker.published]

    return relay
