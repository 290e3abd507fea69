"""Wiring: ``create_app`` builds the app without side effects; the lifespan owns resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from chassis import (
    TokenVerifier,
    create_service_app,
    get_logger,
    owned_database,
)

from . import services
from .api import admin, catalog, internal
from .catalog_seed import demo_catalog
from .repository import SqlUnitOfWork
from .settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
_log = get_logger("bazaar_products")


def create_app(settings: Settings, *, token_verifier: TokenVerifier | None = None) -> FastAPI:
    """``token_verifier`` replaces the JWKS-backed one (tests pass ``TestTokens().verifier``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with owned_database(app, settings, MIGRATIONS) as database:
            app.state.unit_of_work = lambda: SqlUnitOfWork(database)
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
        log_json=False,
    )
    return create_app(settings).openapi()
