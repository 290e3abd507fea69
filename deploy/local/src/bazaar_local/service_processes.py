"""The services as child processes: spawned, killed on purpose, spawned again.

Children get a death signal when the *thread* that forked them ends (so none outlives a crashed
launcher). Every child is therefore forked by one `Spawner` thread that lives as long as the
system, whichever thread asks for the start or restart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from bazaar_local.child_processes import signal_group, spawn_logged, terminate_all
from bazaar_local.paths import repo_root
from bazaar_local.readiness import ReadinessTarget
from bazaar_local.services import ServiceSpec
from bazaar_local.system_config import SystemConfig

T = TypeVar("T")
# Signals that pause a process rather than end it: `kill` waits for a death.
_NOT_DEADLY = {signal.SIGSTOP, signal.SIGTSTP, signal.SIGCONT, signal.SIGCHLD}


class Spawner:
    """Runs the calls that fork children on one thread, kept until `close()`."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None

    def run(self, fork: Callable[[], T]) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bazaar-spawner")
        return self._executor.submit(fork).result()

    def close(self) -> None:
        """Ends the thread: any child still running gets its death signal."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class ServiceProcesses:
    def __init__(
        self,
        config: SystemConfig,
        spawner: Spawner,
        environment: Callable[[ServiceSpec], Mapping[str, str]],
    ) -> None:
        self.config = config
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self._spawner = spawner
        self._environment = environment
        # Killed on purpose and not spawned again yet: not reported as dead.
        self._expected_down: set[str] = set()

    def spec(self, name: str) -> ServiceSpec:
        for spec in self.config.services:
            if spec.name == name:
                return spec
        raise ValueError(f"no service named {name!r}")

    def spawn(self, spec: ServiceSpec) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self._environment(spec)}
        argv = [self.config.python, "-m", spec.module]
        log_file = self.config.log_file(spec.name)
        cwd = self.config.repo_root or repo_root()
        self.running[spec.name] = self._spawner.run(
            lambda: spawn_logged(argv, log_file=log_file, env=env, cwd=cwd)
        )
        # From now on an exit is a real failure again.
        self._expected_down.discard(spec.name)

    def kill(self, name: str, sig: signal.Signals) -> None:
        """Signals the service's process group and waits until it has died (SIGKILL after the
        stop grace period if `sig` was gentler)."""
        if sig in _NOT_DEADLY:
            raise ValueError(f"{sig.name} does not end a process")
        self.spec(name)
        process = self.running.get(name)
        if process is None:
            raise RuntimeError(f"{name} was never started")
        self._expected_down.add(name)
        signal_group(process, sig)
        try:
            process.wait(timeout=self.config.stop_grace)
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
            process.wait()
        # Workers it forked may still be in its group after it exits.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def respawn(self, name: str) -> None:
        """Spawns the service again, stopping it first (SIGTERM) if it still runs."""
        spec = self.spec(name)
        process = self.running.get(name)
        if process is not None and process.poll() is None:
            self.kill(name, signal.SIGTERM)
        self.spawn(spec)

    def dead(self) -> dict[str, int]:
        """Services that exited without being killed on purpose, with their exit codes."""
        return {
            name: code
            for name, process in list(self.running.items())
            if name not in self._expected_down and (code := process.poll()) is not None
        }

    def pid(self, name: str) -> int | None:
        process = self.running.get(name)
        return process.pid if process is not None and process.poll() is None else None

    def readiness_targets(self, specs: Sequence[ServiceSpec]) -> list[ReadinessTarget]:
        return [
            ReadinessTarget(
                spec.name,
                self.config.service_ports[spec.port_key],
                self.running[spec.name],
                self.config.log_file(spec.name),
            )
            for spec in specs
        ]

    def stop_all(self) -> None:
        """SIGTERM to all (in reverse start order), SIGKILL after the stop grace period."""
        processes = [
            self.running[spec.name]
            for spec in reversed(self.config.services)
            if spec.name in self.running
        ]
        terminate_all(processes, grace=self.config.stop_grace)
        self.running.clear()
        self._expected_down.clear()
