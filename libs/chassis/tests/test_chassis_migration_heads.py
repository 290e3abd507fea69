"""The head read from the version files (without alembic) is alembic's head, and a database
already at head is not migrated again."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text

from chassis import Database, upgrade_to_head_async
from chassis.migrations import _head_from_files, head_revision

REPO = Path(__file__).resolve().parents[3]
SERVICE_MIGRATIONS = sorted(REPO.glob("services/*/src/*/migrations"))


def _alembic_head(folder: Path) -> str | None:
    config = Config()
    config.set_main_option("script_location", str(folder))
    return ScriptDirectory.from_config(config).get_current_head()


def _revision(folder: Path, rev: str, down: str, *, annotated: bool = False) -> None:
    versions = folder / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    annotation = ": str | None" if annotated else ""
    (versions / f"{rev}_x.py").write_text(
        f'revision = "{rev}"\ndown_revision{annotation} = {down}\n\n'
        "def upgrade() -> None:\n    pass\n"
    )


def test_every_service_has_migrations_to_compare() -> None:
    assert len(SERVICE_MIGRATIONS) >= 5


@pytest.mark.parametrize("folder", SERVICE_MIGRATIONS, ids=lambda p: p.parts[-4])
def test_head_from_files_is_alembics_head(folder: Path) -> None:
    head = _head_from_files(folder / "versions")
    assert head is not None
    assert head == _alembic_head(folder)


def test_a_chain_with_annotations_and_a_merge(tmp_path: Path) -> None:
    _revision(tmp_path, "a1", "None", annotated=True)
    _revision(tmp_path, "b1", "'a1'")
    _revision(tmp_path, "b2", "'a1'")
    _revision(tmp_path, "c1", "('b1', 'b2')")
    (tmp_path / "versions" / "__init__.py").write_text("revision = 'ignored'\n")
    assert _head_from_files(tmp_path / "versions") == "c1" == _alembic_head(tmp_path)


def test_two_heads_are_left_to_alembic(tmp_path: Path) -> None:
    _revision(tmp_path, "a1", "None")
    _revision(tmp_path, "b1", "'a1'")
    _revision(tmp_path, "b2", "'a1'")
    assert _head_from_files(tmp_path / "versions") is None
    with pytest.raises(CommandError):
        head_revision(tmp_path)


def test_computed_revision_ids_are_left_to_alembic(tmp_path: Path) -> None:
    _revision(tmp_path, "a1", "None")
    (tmp_path / "versions" / "b1_x.py").write_text('revision = "b" + "1"\ndown_revision = "a1"\n')
    assert _head_from_files(tmp_path / "versions") is None
    assert head_revision(tmp_path) == "b1"


@pytest.mark.integration
async def test_a_database_at_head_is_not_migrated_again(tmp_path: Path, database_url: str) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "env.py").write_text("from chassis import run_env\n\nrun_env()\n")
    _revision(folder, "0001", "None")
    await upgrade_to_head_async(folder, database_url)
    # Alembic would now fail on its env.py: the second start must not reach it.
    (folder / "env.py").write_text("raise RuntimeError('alembic was run')\n")
    await upgrade_to_head_async(folder, database_url)
    # ... while a new revision is migrated (through alembic, which now fails).
    _revision(folder, "0002", "'0001'")
    with pytest.raises(RuntimeError, match="alembic was run"):
        await upgrade_to_head_async(folder, database_url)
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            version = (await session.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert version == [("0001",)]
    finally:
        await db.dispose()
