"""Children the bench starts (upstreams, nginx, the gateway, load generators): each pinned to its
cores, in its own session, given a death signal, and all stopped when the bench leaves its
`Children` block, on success, failure or Ctrl-C alike."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from bazaar_local.child_processes import death_signal_setter, log_tail, terminate_all

from .cpus import CpuPlan


class ChildFailedError(RuntimeError):
    """A child exited early or never became ready; the message has its log's tail."""


class Children:
    def __init__(self, plan: CpuPlan, logs_dir: Path) -> None:
        self.plan = plan
        self.logs_dir = logs_dir
        self._running: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        role: str = "servers",
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a long-running child logging to `<logs_dir>/<name>.log`."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        pin = self.plan.preexec(role)
        dies_with_us = death_signal_setter(signal.SIGTERM)

        def prepare() -> None:
            dies_with_us()
            if pin is not None:
                pin()

        with self.log_file(name).open("ab") as log:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=prepare,
            )
        self._running.append(process)
        return process

    def run(
        self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a load generator to completion on the load cores; its output is returned."""
        process = self.start_capturing(argv, env=env)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(process)
            raise
        finally:
            self._forget(process)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def start_capturing(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[str]:
        pin = self.plan.preexec("load")
        dies_with_us = death_signal_setter(signal.SIGTERM)

        def prepare() -> None:
            dies_with_us()
            if pin is not None:
                pin()

        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=prepare,
        )
        self._running.append(process)  # type: ignore[arg-type]
        return process

    def log_file(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def check_alive(self, process: subprocess.Popen[bytes], name: str) -> None:
        if process.poll() is not None:
            raise ChildFailedError(
                f"{name} exited with {process.returncode}:\n{log_tail(self.log_file(name))}"
            )

    def stop(self, process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
        terminate_all([process], grace=10.0)  # type: ignore[list-item]
        self._forget(process)

    def stop_all(self) -> None:
        running, self._running = self._running, []
        terminate_all(running, grace=10.0)

    def _forget(self, process: object) -> None:
        self._running = [p for p in self._running if p is not process]

    def __enter__(self) -> Children:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()


def wait_for(probe_ok: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Polls `probe_ok()` until true; `ChildFailedError` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not probe_ok():
        if time.monotonic() > deadline:
            raise ChildFailedError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(0.02)
