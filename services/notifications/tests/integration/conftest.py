"""The real notifications app on a fresh PostgreSQL database; NATS only where a test asks."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bazaar_local.nats import NatsServer
from bazaar_local.ports import free_port
from bazaar_notifications.bootstrap import create_app
from bazaar_notifications.consumer import order_events_consumer
from bazaar_notifications.settings import Settings
from chassis import CloudEvent, Database, EventConsumer, EventSchemas, NatsBroker, new_event
from chassis.testing import TestTokens

EVENT_SCHEMAS_DIR = Path(__file__).resolve().parents[4] / "contracts" / "events"
UNUSED_NATS_URL = "nats://127.0.0.1:9"  # never dialled: those tests start no consumer


@pytest.fixture
def tokens() -> TestTokens:
    return TestTokens()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        # Never called: tokens are checked by TestTokens' verifier.
        jwks_url="http://127.0.0.1:9/.well-known/jwks.json",
        nats_url=UNUSED_NATS_URL,
        event_schemas_dir=EVENT_SCHEMAS_DIR,
        environment="test",
        log_json=False,
        log_level="WARNING",
    )


def _client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notif")


@pytest.fixture
def client_for() -> Callable[[FastAPI], httpx.AsyncClient]:
    """An in-process client for an app a test builds itself."""
    return _client_for


@pytest.fixture
async def api(settings: Settings, tokens: TestTokens) -> AsyncIterator[httpx.AsyncClient]:
    """The API alone (migrations run, no consumer, no NATS)."""
    app = create_app(settings, token_verifier=tokens.verifier, start_consumer=False)
    async with LifespanManager(app), _client_for(app) as client:
        yield client


@pytest.fixture
async def consumer(api: httpx.AsyncClient, database_url: str) -> AsyncIterator[EventConsumer]:
    """The service's consumer on the migrated database, never started: tests hand it events
    through ``apply``, the same inbox-transaction path a NATS delivery takes."""
    database = Database(database_url)
    yield order_events_consumer(
        NatsBroker(UNUSED_NATS_URL, name="unused"),
        database,
        EventSchemas.load(EVENT_SCHEMAS_DIR),
        max_deliver=5,
    )
    await database.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def count_rows(db: AsyncEngine) -> Callable[[], Awaitable[dict[str, int]]]:
    async def count() -> dict[str, int]:
        async with db.connect() as conn:
            notifications = await conn.scalar(text("SELECT count(*) FROM notifications"))
            inbox = await conn.scalar(text("SELECT count(*) FROM inbox"))
        return {"notifications": int(notifications or 0), "inbox": int(inbox or 0)}

    return count


@pytest.fixture
def order_event() -> Callable[..., CloudEvent]:
    """An order event exactly as the orders service publishes it (valid against its schema)."""

    def make(
        kind: str = "confirmed",
        *,
        customer_id: uuid.UUID | None = None,
        order_id: uuid.UUID | None = None,
        **data: Any,
    ) -> CloudEvent:
        order = order_id or uuid.uuid4()
        body: dict[str, Any] = {
            "orderId": str(order),
            "customerId": str(customer_id or uuid.uuid4()),
        }
        if kind == "rejected":
            body |= {"reason": "payment_declined", "detail": "card_declined"}
        else:
            body |= {"totalAmount": "59.97", "currency": "USD"}
        body |= data
        return new_event(
            source="/bazaar/orders",
            type=f"bazaar.orders.order.{kind}.v1",
            subject=str(order),
            data=body,
        )

    return make


@pytest.fixture
def nats_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bazaar-nats-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def nats_server(nats_dir: Path) -> Iterator[NatsServer]:
    server = NatsServer(nats_dir, free_port())
    server.start()
    server.wait_ready()
    yield server
    server.stop()
