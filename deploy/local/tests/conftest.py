"""Fixtures for the launcher's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def fake_bindir(tmp_path: Path) -> Path:
    """A directory that looks like PostgreSQL's bin dir (executables named initdb, postgres)."""
    bindir = tmp_path / "pg" / "bin"
    bindir.mkdir(parents=True)
    for name in ("initdb", "postgres"):
        program = bindir / name
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(0o755)
    return bindir
