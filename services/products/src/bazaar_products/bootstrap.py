"""Wiring: ``create_app`` builds the app without side effects; the lifespan owns resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from chassis import (
    Database,
    RemoteJwks,
    TokenVerifier,
    create_service_app,
    database_check,
    get_logger,
    migrations_check,
    register_readiness,
    upgrade_to_head_async,
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
    jwks: RemoteJwks | None = None
    if token_verifier is None:
        jwks = RemoteJwks(settings.jwks_url, cache_seconds=settings.jwks_cache_seconds)
        token_verifier = TokenVerifier(
            jwks,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database.from_settings(settings, application_name=settings.service_name)
        try:
            await upgrade_to_head_async(MIGRATIONS, settings.database_url)
            register_readiness(app, "database", database_check(database))
            register_readiness(app, "migrations", migrations_check(database, MIGRATIONS))
            app.state.unit_of_work = lambda: SqlUnitOfWork(database)
            if settings.seed_demo_catalog:
                added = await services.seed_catalog(app.state.unit_of_work, demo_catalog())
                _log.info("demo_catalog_seeded", products_added=added)
            yield
        finally:
            await database.dispose()
            if jwks is not None:
                await jwks.close()

    return create_service_app(
        settings,
        title="Bazaar products",
        description="The catalog, its inventory, and stock reservations for orders.",
        routers=[catalog, admin, internal],
        lifespan=lifespan,
        token_verifier=token_verifier,
    )


def openapi_document() -> dict[str, Any]:
    settings = Settings(
        database_url="postgresql+asyncpg://products@localhost/products",
        jwks_url="http://users.invalid/.well-known/jwks.json",
        log_json=False,
    )
    return create_app(settings).openapi()
