"""The database a service owns, for the length of its lifespan: migrated, probed, disposed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from .db import Database
from .health import database_check, migrations_check, register_readiness
from .metrics import ServiceMetrics
from .migrations import upgrade_to_head_async
from .settings import DatabaseSettings


@asynccontextmanager
async def owned_database(
    app: FastAPI, settings: DatabaseSettings, migrations: Path
) -> AsyncIterator[Database]:
    """Migrates to head (once across replicas), then registers the readiness checks."""
    name = app.state.settings.service_name
    database = Database.from_settings(settings, application_name=name)
    metrics: ServiceMetrics | None = getattr(app.state, "metrics", None)
    try:
        await upgrade_to_head_async(migrations, settings.database_url)
        register_readiness(app, "database", database_check(database))
        register_readiness(app, "migrations", migrations_check(database, migrations))
        if metrics is not None:
            metrics.watch_database(database)
        yield database
    finally:
        if metrics is not None:
            metrics.unwatch_database(database)
        await database.dispose()
