"""Alembic migrations, run at start-up and checked by readiness.

Each service keeps its migrations in its own package (``<pkg>/migrations``) with a two-line
``env.py`` that calls :func:`run_env`. Upgrades take a PostgreSQL advisory lock so that several
replicas starting together migrate once.

Alembic (with Mako and Pygments behind it: ~0.15 s and several MB per process) is imported only
when there is something to migrate: the head is read from the version files themselves, and a
database already at head is left alone without taking the lock.
"""

from __future__ import annotations

import ast
import asyncio
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, MetaData, pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

_LOCK_KEY = 7_301_994_401  # any constant: one migration lock per database
# alembic.context is a process-wide proxy: two upgrades on two threads would share it.
_IN_PROCESS = threading.Lock()
# The version files alembic itself loads (alembic.script.base._only_source_rev_file).
_VERSION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")


def alembic_config(script_location: Path, url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(script_location: Path, url: str) -> None:
    """Blocking: run it in a worker thread from async code."""
    from alembic import command

    with _IN_PROCESS:
        command.upgrade(alembic_config(script_location, url), "head")


async def upgrade_to_head_async(script_location: Path, url: str) -> None:
    """Migrate to head under the lock, unless the database is there already (the usual
    restart): a schema at head needs no lock, since no migration is left to run."""
    head = head_revision(script_location)
    if head is not None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            if await current_revision(engine) == head:
                return
        finally:
            await engine.dispose()
    await asyncio.to_thread(upgrade_to_head, script_location, url)


def head_revision(script_location: Path) -> str | None:
    """The single head, as alembic's ``ScriptDirectory.get_current_head`` gives it."""
    return _head_from_files(script_location / "versions") or _alembic_head(script_location)


def _alembic_head(script_location: Path) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(script_location, "")).get_current_head()


def _head_from_files(versions: Path) -> str | None:
    """The head of plain version files (literal ``revision`` and ``down_revision``, one head),
    or None for anything else, which alembic then decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        files = [p for p in versions.iterdir() if _VERSION_FILE.match(p.name) and p.is_file()]
    except OSError:
        return None
    for path in files:
        ids = _revision_ids(path)
        if ids is None:
            return None
        revision, down = ids
        revisions.add(revision)
        parents.update(down)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _revision_ids(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """``revision`` and ``down_revision`` assigned as literals at module level, or None."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    values: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                values[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError):
                return None
    if "down_revision" not in values:
        return None
    revision, down = values.get("revision"), values["down_revision"]
    if not isinstance(revision, str):
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


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
    from alembic import context

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
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: sqlalchemy.url is not set")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata))
