"""Wiring: settings in, a FastAPI app out. Resources are made in the lifespan, not here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from chassis import (
    Database,
    RemoteJwks,
    ServiceClient,
    TokenVerifier,
    create_service_app,
    database_check,
    migrations_check,
    register_readiness,
    upgrade_to_head_async,
)

from .adapters.products_http import HttpCatalog, HttpInventory
from .adapters.sql_orders import SqlUnitOfWork
from .api import router
from .ports import Catalog, Inventory
from .settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    inventory: Inventory | None = None,
    token_verifier: TokenVerifier | None = None,
) -> FastAPI:
    """``catalog``/``inventory``/``token_verifier`` replace the real ones (tests); by default
    they talk to the products service at PRODUCTS_URL and to the users service's JWKS."""
    jwks: RemoteJwks | None = None
    if token_verifier is None:
        # Fetches lazily on the first token, so building it here has no side effect.
        jwks = RemoteJwks(settings.jwks_url, cache_seconds=settings.jwks_cache_seconds)
        token_verifier = TokenVerifier(
            jwks,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if jwks is not None:
                stack.push_async_callback(jwks.close)
            database = Database.from_settings(settings, application_name=settings.service_name)
            stack.push_async_callback(database.dispose)
            await upgrade_to_head_async(MIGRATIONS_DIR, settings.database_url)
            register_readiness(app, "database", database_check(database))
            register_readiness(app, "migrations", migrations_check(database, MIGRATIONS_DIR))
            app.state.uow = lambda: SqlUnitOfWork(database.sessions)
            app.state.catalog = catalog
            app.state.inventory = inventory
            if catalog is None or inventory is None:
                products = ServiceClient(
                    "products",
                    settings.products_url,
                    timeout_seconds=settings.products_timeout_seconds,
                )
                stack.push_async_callback(products.close)
                app.state.catalog = catalog or HttpCatalog(products)
                app.state.inventory = inventory or HttpInventory(products)
            yield

    return create_service_app(
        settings,
        title="Bazaar orders",
        description="Orders: placed against the catalog's prices and the products' stock.",
        routers=[router],
        lifespan=lifespan,
        token_verifier=token_verifier,
    )


def openapi_document() -> dict[str, Any]:
    settings = Settings(
        database_url="postgresql+asyncpg://placeholder@localhost/placeholder",
        jwks_url="http://localhost/.well-known/jwks.json",
        products_url="http://localhost",
    )
    return create_app(settings).openapi()
