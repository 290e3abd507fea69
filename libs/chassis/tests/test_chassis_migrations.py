"""Migrations run at start-up: idempotent, serialised across replicas, checked by readiness."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from chassis import Database, migrations_check, upgrade_to_head_async

pytestmark = pytest.mark.integration

ENV = "from chassis import run_env\n\nrun_env()\n"
REVISION = """
from alembic import op

revision = "{rev}"
down_revision = {down}


def upgrade() -> None:
    op.execute("CREATE TABLE {table} (id int primary key)")


def downgrade() -> None:
    op.execute("DROP TABLE {table}")
"""


def _write_revision(folder: Path, rev: str, down: str | None, table: str) -> None:
    (folder / "versions" / f"{rev}_{table}.py").write_text(
        REVISION.format(rev=rev, down=repr(down), table=table)
    )


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV)
    _write_revision(folder, "0001", None, "first")
    return folder


async def test_upgrade_is_idempotent_and_concurrent_safe(
    migrations: Path, database_url: str
) -> None:
    # Two replicas starting together: the advisory lock makes the second wait, then no-op.
    await asyncio.gather(
        upgrade_to_head_async(migrations, database_url),
        upgrade_to_head_async(migrations, database_url),
    )
    await upgrade_to_head_async(migrations, database_url)
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            version = (await session.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert version == [("0001",)]
            assert (await session.execute(text("SELECT count(*) FROM first"))).scalar() == 0
    finally:
        await db.dispose()


async def test_readiness_fails_until_schema_is_at_head(migrations: Path, database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade_to_head_async(migrations, database_url)
        await migrations_check(db, migrations)()
        _write_revision(migrations, "0002", "0001", "second")
        with pytest.raises(RuntimeError, match="0002"):
            await migrations_check(db, migrations)()
        await upgrade_to_head_async(migrations, database_url)
        await migrations_check(db, migrations)()
    finally:
        await db.dispose()


async def test_transaction_rolls_back_on_error(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (id int)"))

        async def insert_then_fail() -> None:
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))
                raise RuntimeError("half-way")

        with pytest.raises(RuntimeError):
            await insert_then_fail()
        async with db.transaction() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    finally:
        await db.dispose()
