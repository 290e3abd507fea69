"""The load generators and baselines that come from Debian: found, or installed once."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# program → the Debian package that ships it
PACKAGES = {"wrk": "wrk", "nginx": "nginx", "pgbench": "postgresql-contrib"}


class ToolMissingError(RuntimeError):
    """A program the bench needs is missing and could not be installed."""


@dataclass(frozen=True)
class Tools:
    wrk: Path
    nginx: Path
    pgbench: Path


def _find(program: str) -> Path | None:
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")
    if found:
        return Path(found)
    if program == "pgbench":
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
        if versions:
            return Path(versions[-1])
    return None


def _apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ToolMissingError(
            f"missing {', '.join(packages)}: install them (apt-get install -y {' '.join(packages)})"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    result = subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ToolMissingError(f"apt-get install {' '.join(packages)} failed:\n{result.stderr}")


def ensure_tools() -> Tools:
    """Each program's path, installing the Debian packages of the missing ones first."""
    missing = [program for program in PACKAGES if _find(program) is None]
    if missing:
        _apt_install(sorted({PACKAGES[p] for p in missing}))
    paths = {program: _find(program) for program in PACKAGES}
    still = [program for program, path in paths.items() if path is None]
    if still:
        raise ToolMissingError(f"still missing after apt-get: {', '.join(still)}")
    return Tools(**{k: v for k, v in paths.items() if v is not None})
