"""Wiring: settings in, a FastAPI app out. Resources are made in the lifespan, not here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from chassis import (
    EventSchemas,
    NatsBroker,
    TokenVerifier,
    create_service_app,
    owned_broker,
    owned_database,
    register_readiness,
)

from .api import router
from .consumer import order_events_consumer
from .repository import SqlRepositories
from .settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(
    settings: Settings,
    *,
    broker: NatsBroker | None = None,
    token_verifier: TokenVerifier | None = None,
    start_consumer: bool = True,
    consumer_backoff_seconds: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0),
) -> FastAPI:
    """``broker`` replaces the one made from NATS_URL (its owner connects and closes it);
    ``start_consumer=False`` serves the API alone (tests of the API need no NATS)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(
                owned_database(app, settings, MIGRATIONS_DIR)
            )
            app.state.repositories = SqlRepositories(database)
            if start_consumer:
                # NATS being down must not crash-loop the service: its API still answers,
                # and /ready says why.
                nats = broker
                if nats is None:
                    nats = await stack.enter_async_context(
                        owned_broker(settings, name=settings.service_name)
                    )
                register_readiness(app, "broker", nats.check)
                consumer = order_events_consumer(
                    nats,
                    database,
                    EventSchemas.load(settings.event_schemas_dir),
                    max_deliver=settings.consumer_max_deliver,
                    backoff_seconds=consumer_backoff_seconds,
                    metrics=app.state.metrics,
                )
                consumer.start()
                stack.push_async_callback(consumer.stop)
                app.state.consumer = consumer
            yield

    return create_service_app(
        settings,
        title="Bazaar notifications",
        description="Customers' notifications about their orders, made from order events.",
        routers=[router],
        lifespan=lifespan,
        token_verifier=token_verifier or TokenVerifier.from_settings(settings),
    )


def openapi_document() -> dict[str, Any]:
    settings = Settings(
        database_url="postgresql+asyncpg://placeholder@localhost/placeholder",
        jwks_url="http://localhost/.well-known/jwks.json",
        nats_url="nats://localhost:4222",
        # Any existing folder: building the document reads no schema.
        event_schemas_dir=Path(__file__).parent,
    )
    return create_app(settings).openapi()
