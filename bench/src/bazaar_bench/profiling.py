"""`--profile SERVICES`: py-spy samples the named services while a benchmark loads them.

py-spy attaches to a running process from outside (no code change, no restart) and writes a
speedscope file per benchmark and service under `<out>/profiles/` (open it at speedscope.app or
with `py-spy`'s own viewer); `--profile-format flamegraph` writes SVG flame graphs instead.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

PROFILE_FORMATS = {"speedscope": "speedscope.json", "flamegraph": "svg"}


class ProfilerMissingError(RuntimeError):
    """py-spy is not installed."""


def find_py_spy() -> Path | None:
    beside_python = Path(sys.executable).parent / "py-spy"
    if beside_python.is_file():
        return beside_python
    found = shutil.which("py-spy")
    return Path(found) if found else None


class Profiler:
    """Profiles the services named in `services` ("all" for every one offered)."""

    def __init__(
        self, services: frozenset[str], out_dir: Path, *, fmt: str = "speedscope", rate: int = 200
    ) -> None:
        self.services = services
        self.out_dir = out_dir
        self.fmt = fmt
        self.rate = rate
        self.written: list[Path] = []
        self._py_spy: Path | None = None
        if services:
            self._py_spy = find_py_spy()
            if self._py_spy is None:
                raise ProfilerMissingError(
                    "--profile needs py-spy (`uv pip install py-spy`, or the dev group)"
                )

    @classmethod
    def disabled(cls) -> Profiler:
        return cls(frozenset(), Path("."))

    def wanted(self, service: str) -> bool:
        return "all" in self.services or service in self.services

    @contextlib.contextmanager
    def profiling(self, label: str, pids: Mapping[str, int | None]) -> Iterator[None]:
        """Samples each wanted service in `pids` for the duration of the block."""
        chosen = {name: pid for name, pid in pids.items() if pid is not None and self.wanted(name)}
        if not chosen or self._py_spy is None:
            yield
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        recorders: list[tuple[subprocess.Popen[bytes], Path]] = []
        for name, pid in chosen.items():
            output = self.out_dir / f"{label}-{name}.{PROFILE_FORMATS[self.fmt]}"
            argv = [
                str(self._py_spy), "record",
                "--pid", str(pid),
                "--rate", str(self.rate),
                "--format", self.fmt,
                "--output", str(output),
                "--nonblocking",
            ]  # fmt: skip
            recorders.append(
                (subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), output)
            )
        try:
            yield
        finally:
            for process, output in recorders:
                # SIGINT makes py-spy stop sampling and write its file.
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                if output.exists():
                    self.written.append(output)
