"""Wiring: settings in, a FastAPI app out. Resources are made in the lifespan, not here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from chassis import (
    ServiceClient,
    TokenVerifier,
    create_service_app,
    owned_database,
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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(
                owned_database(app, settings, MIGRATIONS_DIR)
            )
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
        token_verifier=token_verifier or TokenVerifier.from_settings(settings),
    )


def openapi_document() -> dict[str, Any]:
    settings = Settings(
        database_url="postgresql+asyncpg://placeholder@localhost/placeholder",
        jwks_url="http://localhost/.well-known/jwks.json",
        products_url="http://localhost",
    )
    return create_app(settings).openapi()
