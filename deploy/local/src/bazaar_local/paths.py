"""Where the repository and the launcher's data folder are."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "BAZAAR_HOME"


def _is_repo_root(path: Path) -> bool:
    return (path / "pyproject.toml").is_file() and (path / "deploy" / "local").is_dir()


def repo_root() -> Path:
    """The Bazaar checkout: found from this package's location (editable install) or the cwd."""
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if _is_repo_root(candidate):
                return candidate
    raise RuntimeError("cannot find the Bazaar repository root; run from inside the checkout")


def default_data_dir() -> Path:
    """`$BAZAAR_HOME`, else `<repo root>/.bazaar`."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return repo_root() / ".bazaar"
