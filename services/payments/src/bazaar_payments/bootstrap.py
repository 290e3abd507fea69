"""Wiring: settings in, a FastAPI app out. Resources are made in the lifespan, not here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from chassis import (
    Broker,
    TokenVerifier,
    create_service_app,
    owned_broker,
    owned_database,
    owned_outbox,
)

from .adapters.simulated_processor import SimulatedProcessor
from .adapters.sql_payments import SqlUnitOfWork
from .api import router
from .ports import PaymentProcessor
from .settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# How long start-up waits for NATS before serving anyway (the outbox keeps events meanwhile).
BROKER_CONNECT_WAIT_SECONDS = 2.0


def create_app(
    settings: Settings,
    *,
    broker: Broker | None = None,
    processor: PaymentProcessor | None = None,
) -> FastAPI:
    """``broker``/``processor`` replace the real ones (tests); by default events go to NATS at
    NATS_URL and authorizations to the simulated processor."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(
                owned_database(app, settings, MIGRATIONS_DIR)
            )
            publisher = broker
            if publisher is None:
                publisher = await stack.enter_async_context(
                    owned_broker(
                        settings,
                        name=settings.service_name,
                        streams=[settings.service_name],
                        connect_wait_seconds=BROKER_CONNECT_WAIT_SECONDS,
                    )
                )
            relay = await stack.enter_async_context(
                owned_outbox(database, publisher, settings, metrics=app.state.metrics)
            )
            app.state.relay = relay
            app.state.uow = lambda: SqlUnitOfWork(database.sessions, on_events_committed=relay.wake)
            app.state.processor = processor or SimulatedProcessor(
                latency_seconds=settings.processor_latency_ms / 1000,
                timeout_seconds=settings.processor_timeout_seconds,
            )
            yield

    return create_service_app(
        settings,
        title="Bazaar payments",
        description="Payments (internal): authorize with the processor, capture, void, refund; "
        "every change is published as an event through the outbox.",
        routers=[router],
        lifespan=lifespan,
        token_verifier=TokenVerifier.from_settings(settings),
    )


def openapi_document() -> dict[str, Any]:
    settings = Settings(
        database_url="postgresql+asyncpg://placeholder@localhost/placeholder",
        nats_url="nats://localhost:4222",
        event_schemas_dir=Path("contracts/events"),
        jwks_url="http://users.invalid/.well-known/jwks.json",
    )
    return create_app(settings).openapi()
