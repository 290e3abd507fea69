"""Wiring: ``create_app`` builds the app without side effects; the lifespan owns resources."""

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
    get_logger,
    owned_broker,
    owned_database,
    owned_outbox,
)

from . import services
from .api import admin, catalog, internal
from .catalog_seed import demo_catalog
from .repository import SqlUnitOfWork
from .settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
_log = get_logger("bazaar_products")


def create_app(
    settings: Settings,
    *,
    token_verifier: TokenVerifier | None = None,
    broker: Broker | None = None,
) -> FastAPI:
    """``token_verifier`` replaces the JWKS-backed one (tests pass ``TestTokens().verifier``);
    ``broker`` replaces the NATS one made from NATS_URL (tests pass an ``InMemoryBroker``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(owned_database(app, settings, MIGRATIONS))
            # Reservations never wait for the broker; their events wait in the outbox.
            events_to = broker
            if events_to is None:
                events_to = await stack.enter_async_context(
                    owned_broker(settings, name=settings.service_name, streams=["products"])
                )
            relay = await stack.enter_async_context(
                owned_outbox(database, events_to, settings, metrics=app.state.metrics)
            )
            app.state.relay = relay
            app.state.unit_of_work = lambda: SqlUnitOfWork(database, on_events_committed=relay.wake)
            if settings.seed_demo_catalog:
                added = await services.seed_catalog(app.state.unit_of_work, demo_catalog())
                _log.info("demo_catalog_seeded", products_added=added)
            yield

    return create_service_app(
        settings,
        title="Bazaar products",
        description="The catalog, its inventory, and stock reservations for orders.",
        routers=[catalog, admin, internal],
        lifespan=lifespan,
        token_verifier=token_verifier or TokenVerifier.from_settings(settings),
    )


def openapi_document() -> dict[str, Any]:
    settings = Settings(
        database_url="postgresql+asyncpg://products@localhost/products",
        jwks_url="http://users.invalid/.well-known/jwks.json",
        nats_url="nats://localhost:4222",
        # Any existing folder: building the document reads no schema.
        event_schemas_dir=Path(__file__).parent,
        log_json=False,
    )
    return create_app(settings).openapi()
