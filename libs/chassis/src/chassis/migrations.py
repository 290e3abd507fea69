"""Alembic migrations, run at start-up and checked by readiness.

Each service keeps its migrations in its own package (``<pkg>/migrations``) with a two-line
``env.py`` that calls :func:`run_env`. Upgrades take a PostgreSQL advisory lock so that several
replicas starting together migrate once.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_LOCK_KEY = 7_301_994_401  # any constant: one migration lock per database
# alembic.context is a process-wide proxy: two upgrades on two threads would share it.
_IN_PROCESS = threading.Lock()


def alembic_config(script_location: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(script_location: Path, url: str) -> None:
    """Blocking: run it in a worker thread from async code."""
    with _IN_PROCESS:
        command.upgrade(alembic_config(script_location, url), "head")


async def upgrade_to_head_async(script_location: Path, url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, script_location, url)


def head_revision(script_location: Path) -> str | None:
    return ScriptDirectory.from_config(alembic_config(script_location, "")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    # Read directly rather than through alembic's MigrationContext, which logs a line on every
    # readiness probe.
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        if not exists:
            return None
        rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        return rows[0][0] if len(rows) == 1 else None


def _run_locked(connection: Connection, target_metadata: MetaData | None) -> None:
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
    try:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
        connection.commit()


async def _run_online(url: str, target_metadata: MetaData | None) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run_locked, target_metadata)
    finally:
        await engine.dispose()


def run_env(target_metadata: MetaData | None = None) -> None:
    """The body of every service's ``migrations/env.py``."""
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: sqlalchemy.url is not set")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata))
