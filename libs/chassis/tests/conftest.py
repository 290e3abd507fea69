from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Depends
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel, ConfigDict, Field

from bazaar_local.nats import NatsServer
from chassis import (
    CurrentPrincipal,
    Database,
    NatsBroker,
    NotFound,
    ServiceSettings,
    Tracing,
    create_service_app,
    register_readiness,
    require_role,
    upgrade_to_head_async,
)
from chassis.testing import TestTokens


class ThingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int = Field(ge=1, le=100)


def _router() -> APIRouter:
    router = APIRouter()

    @router.post("/things", status_code=201, responses={404: {"description": "Not found"}})
    async def create(body: ThingIn, principal: CurrentPrincipal) -> dict[str, object]:
        return {"quantity": body.quantity, "user": str(principal.user_id)}

    @router.get("/missing")
    async def missing() -> dict[str, object]:
        raise NotFound("There is no such thing.")

    @router.get("/admin", dependencies=[Depends(require_role("admin"))])
    async def admin() -> dict[str, object]:
        return {"ok": True}

    @router.get("/boom")
    async def boom() -> dict[str, object]:
        raise RuntimeError("internal secret 42")

    return router


@pytest.fixture
def tokens() -> TestTokens:
    return TestTokens()


@pytest.fixture
async def client(tokens: TestTokens) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(service_name="sample", max_body_bytes=2048)
    app = create_service_app(
        settings, title="Sample", routers=[_router()], token_verifier=tokens.verifier
    )
    healthy = {"value": True}

    async def flaky() -> None:
        if not healthy["value"]:
            raise RuntimeError("dependency down")

    async with LifespanManager(app):
        register_readiness(app, "dependency", flaky)
        app.state.healthy = healthy
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://sample") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


MESSAGING_MIGRATION = """
from alembic import op
from chassis import create_inbox_table, create_outbox_table
revision = "0001"
down_revision = None
def upgrade() -> None:
    create_outbox_table(op)
    create_inbox_table(op)
    op.execute("CREATE TABLE applied (event_id text, n int)")
"""


@pytest.fixture
async def database(tmp_path: Path, database_url: str) -> AsyncIterator[Database]:
    """A database migrated the way a producing and consuming service's is: outbox and inbox
    (plus ``applied``, where test handlers record their effect)."""
    migrations = tmp_path / "migrations"
    (migrations / "versions").mkdir(parents=True)
    (migrations / "env.py").write_text("from chassis import run_env\n\nrun_env()\n")
    (migrations / "versions" / "0001_messaging.py").write_text(MESSAGING_MIGRATION)
    await upgrade_to_head_async(migrations, database_url)
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def broker(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    """A broker connected to the test NATS server, with the ``test`` service's stream."""
    broker = NatsBroker(nats_server.url, name="test")
    await broker.connect(wait_seconds=5)
    await broker.ensure_stream("test")
    yield broker
    await broker.close()


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """Where the ``tracing`` fixture's spans end up, for a test to read."""
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> Iterator[Tracing]:
    """A service's tracing that records every span into ``exporter``."""
    tracing = Tracing(service="sample", processors=(SimpleSpanProcessor(exporter),))
    yield tracing
    tracing.shutdown()
