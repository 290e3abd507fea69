"""The real payments app on a fresh PostgreSQL database, publishing to an in-memory broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bazaar_payments.bootstrap import create_app
from bazaar_payments.domain import Approved, ProcessorDecision
from bazaar_payments.ports import PaymentProcessor
from bazaar_payments.settings import Settings
from chassis.testing import InMemoryBroker

EVENT_SCHEMAS_DIR = Path(__file__).resolve().parents[4] / "contracts" / "events"


class GateProcessor:
    """Approves, but only once ``expected`` calls are in flight together: every concurrent
    request has then passed its "already paid?" check before any of them records."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.calls = 0
        self._all_in = asyncio.Event()

    async def authorize(self, token: str, amount: Decimal) -> ProcessorDecision:
        self.calls += 1
        if self.calls >= self.expected:
            self._all_in.set()
        await self._all_in.wait()
        return Approved()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        # Never dialled: the tests hand the app an in-memory broker.
        nats_url="nats://127.0.0.1:9",
        event_schemas_dir=EVENT_SCHEMAS_DIR,
        jwks_url="http://127.0.0.1:9/.well-known/jwks.json",
        # tok_timeout fails at once instead of hanging for 30 s.
        processor_timeout_seconds=0.0,
        environment="test",
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture
def broker() -> InMemoryBroker:
    return InMemoryBroker()


@pytest.fixture
def make_client(
    settings: Settings, broker: InMemoryBroker
) -> Callable[[PaymentProcessor | None], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """The real app (started) with another processor, e.g. a GateProcessor."""

    @asynccontextmanager
    async def running(processor: PaymentProcessor | None) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings, broker=broker, processor=processor)
        async with (
            LifespanManager(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://payments"
            ) as client,
        ):
            yield client

    return running


@pytest.fixture
def gate() -> type[GateProcessor]:
    return GateProcessor


@pytest.fixture
async def api(make_client: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(None) as client:
        yield client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def count_rows(db: AsyncEngine) -> Callable[[], Any]:
    async def count() -> dict[str, int]:
        async with db.connect() as conn:
            return {
                table: int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608
                for table in ("payments", "payment_operations", "outbox")
            }

    return count
