"""The steps of `bazaar test`: lint, type-check, import contracts, then the test suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# pytest exits 5 when it collected nothing, which for the project's suite means something broke.
NO_TESTS_COLLECTED = 5


@dataclass(frozen=True)
class Check:
    title: str
    argv: list[str]


def tool(name: str) -> str:
    """A console script of the running environment (`uv run` puts none of them first on PATH
    reliably, but they always sit next to the interpreter)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name) or name


def project_checks(pytest_args: Sequence[str] = ()) -> list[Check]:
    return [
        Check("ruff: lint", [tool("ruff"), "check", "."]),
        Check("mypy: types", [tool("mypy")]),
        Check("import-linter: architecture contracts", [tool("lint-imports")]),
        Check("pytest: tests", [sys.executable, "-m", "pytest", *pytest_args]),
    ]


def run_check(check: Check, cwd: Path) -> int:
    """Run one step with the terminal attached, so its own output streams as it goes."""
    try:
        return subprocess.run(check.argv, cwd=cwd, check=False).returncode
    except FileNotFoundError:
        return 127
