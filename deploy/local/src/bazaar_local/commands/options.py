"""What every command shares: the console it prints to and the `--data-dir` option."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bazaar_local.paths import default_data_dir

console = Console()

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Where Bazaar keeps its data (default: $BAZAAR_HOME or .bazaar)"
    ),
]


def resolve_data_dir(option: Path | None) -> Path:
    return option.expanduser().resolve() if option else default_data_dir()


def stdout_wants_color() -> bool:
    """Colours for a terminal only, and never when NO_COLOR is set (no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ
