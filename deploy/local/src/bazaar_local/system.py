"""The one code path that starts the whole system, for `bazaar up` and the system tests alike."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bazaar_local import credentials
from bazaar_local.child_processes import log_tail, spawn_logged, terminate_all
from bazaar_local.paths import repo_root
from bazaar_local.ports import free_ports, port_in_use
from bazaar_local.postgres import PostgresServer
from bazaar_local.readiness import answers_ready
from bazaar_local.run_state import ComponentState, RunState, clear_state, read_state, write_state
from bazaar_local.services import ADMIN_EMAIL, DEFAULT_PORTS, SERVICES, EnvContext, ServiceSpec
from bazaar_local.services import service_environment as build_service_environment


class SystemStartError(RuntimeError):
    """A part of the system did not start; the message carries the tail of its log."""


@dataclass(frozen=True)
class ProgressEvent:
    component: str
    message: str
    done: int
    total: int


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class SystemConfig:
    data_dir: Path
    postgres_port: int = 55432
    service_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    services: tuple[ServiceSpec, ...] = SERVICES
    # Durability off (fsync and friends): for throwaway systems in tests.
    fast_postgres: bool = False
    ready_timeout: float = 60.0
    stop_grace: float = 10.0
    log_level: str = "INFO"
    repo_root: Path | None = None
    python: str = sys.executable

    @classmethod
    def with_free_ports(cls, data_dir: Path, **overrides: object) -> SystemConfig:
        """A config whose every port is free now: for tests running beside a real `up`."""
        config = cls(data_dir=data_dir)
        for name, value in overrides.items():
            setattr(config, name, value)
        keys = sorted({spec.port_key for spec in config.services})
        postgres_port, *ports = free_ports(1 + len(keys))
        config.postgres_port = postgres_port
        config.service_ports = dict(zip(keys, ports, strict=True))
        return config

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def secrets_file(self) -> Path:
        return self.data_dir / "secrets.json"

    @property
    def signing_key_file(self) -> Path:
        return self.data_dir / "keys" / "jwt-signing.pem"

    def url(self, port_key: str) -> str:
        return f"http://127.0.0.1:{self.service_ports[port_key]}"

    def log_file(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"


class System:
    """PostgreSQL plus every service as child processes; `stop()` is safe to call at any time."""

    def __init__(self, config: SystemConfig, on_progress: ProgressCallback | None = None) -> None:
        self.config = config
        self._on_progress = on_progress
        self.postgres = PostgresServer(
            config.data_dir / "postgres",
            config.postgres_port,
            fast=config.fast_postgres,
            log_file=config.log_file("postgres"),
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.database_urls: dict[str, str] = {}
        self._secrets: dict[str, object] = {}

    # -- public ---------------------------------------------------------------------------

    @property
    def admin_email(self) -> str:
        return ADMIN_EMAIL

    @property
    def admin_password(self) -> str:
        return credentials.admin_password(self._secrets)

    @property
    def gateway_url(self) -> str:
        return self.config.url("gateway")

    def urls(self) -> dict[str, str]:
        return {spec.name: self.config.url(spec.port_key) for spec in self.config.services}

    def start(self) -> None:
        """Start everything in order and return once every service answers `/ready`.

        Call it from a long-lived thread: children get a death signal when that thread ends.
        """
        if self.processes:
            raise RuntimeError("System already started; stop() it first")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop services (SIGTERM, then SIGKILL after the grace period), then PostgreSQL."""
        processes = [
            self.processes[spec.name]
            for spec in reversed(self.config.services)
            if spec.name in self.processes
        ]
        terminate_all(processes, grace=self.config.stop_grace)
        self.processes.clear()
        self.postgres.stop()
        state = read_state(self.config.data_dir)
        if state is not None and state.launcher_pid == os.getpid():
            clear_state(self.config.data_dir)

    def dead_components(self) -> dict[str, int]:
        """Components that have exited since they were started, with their exit codes."""
        dead = {
            name: code
            for name, process in self.processes.items()
            if (code := process.poll()) is not None
        }
        pg_exit = self.postgres.exit_code()
        if pg_exit is not None:
            dead["postgres"] = pg_exit
        return dead

    def state(self) -> RunState:
        components = [
            ComponentState(
                name="postgres",
                pid=self.postgres.pid,
                port=self.config.postgres_port,
                url=f"postgresql://127.0.0.1:{self.config.postgres_port}",
                log=str(self.config.log_file("postgres")),
            )
        ]
        for spec in self.config.services:
            process = self.processes.get(spec.name)
            components.append(
                ComponentState(
                    name=spec.name,
                    pid=process.pid if process else None,
                    port=self.config.service_ports[spec.port_key],
                    url=self.config.url(spec.port_key),
                    log=str(self.config.log_file(spec.name)),
                )
            )
        return RunState(
            launcher_pid=os.getpid(), data_dir=str(self.config.data_dir), components=components
        )

    def service_environment(self, spec: ServiceSpec) -> dict[str, str]:
        """The variables `spec` gets on top of the launcher's environment."""
        root = self.config.repo_root or repo_root()
        ctx = EnvContext(
            ports=self.config.service_ports,
            database_urls=self.database_urls,
            signing_key_file=self.config.signing_key_file,
            admin_password=self.admin_password,
            openapi_dir=root / "contracts" / "openapi",
            log_level=self.config.log_level,
        )
        return build_service_environment(spec, ctx)

    def __enter__(self) -> System:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steps ----------------------------------------------------------------------------

    def _progress(self, component: str, message: str, done: int) -> None:
        if self._on_progress is not None:
            total = 2 + len(self.config.services)
            self._on_progress(ProgressEvent(component, message, done, total))

    def _start(self) -> None:
        config = self.config
        for directory in (config.data_dir, config.logs_dir, config.data_dir / "run"):
            directory.mkdir(parents=True, exist_ok=True)
        databases = [spec.name for spec in config.services if spec.has_database]
        self._secrets = credentials.load_or_create_secrets(config.secrets_file, databases)
        credentials.ensure_signing_key(config.signing_key_file)
        self._check_ports_free()

        self._progress("postgres", "starting PostgreSQL", 0)
        self.postgres.init()
        self.postgres.start()
        self._record_state()
        self.postgres.wait_ready()

        self._progress("databases", "creating databases and roles", 1)
        for name in databases:
            password = credentials.database_password(self._secrets, name)
            self.database_urls[name] = self.postgres.ensure_database_sync(name, name, password)

        # All at once: no service needs another to start (JWKS and upstreams are reached
        # lazily), and the gateway's readiness waits for its upstreams anyway.
        self._progress("services", "starting services", 2)
        for spec in config.services:
            self._spawn_service(spec)
        self._wait_until_ready(config.services)
        self._progress("system", "ready", 2 + len(config.services))

    def _check_ports_free(self) -> None:
        ports = {"postgres": self.config.postgres_port}
        ports.update({s.name: self.config.service_ports[s.port_key] for s in self.config.services})
        busy = [f"{name} ({port})" for name, port in ports.items() if port_in_use(port)]
        if busy:
            raise SystemStartError(f"ports already in use: {', '.join(busy)}")

    def _record_state(self) -> None:
        write_state(self.config.data_dir, self.state())

    def _spawn_service(self, spec: ServiceSpec) -> None:
        env: Mapping[str, str] = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            **self.service_environment(spec),
        }
        log_file = self.config.log_file(spec.name)
        process = spawn_logged(
            [self.config.python, "-m", spec.module],
            log_file=log_file,
            env=env,
            cwd=self.config.repo_root or repo_root(),
        )
        self.processes[spec.name] = process
        self._record_state()

    def _wait_until_ready(self, specs: Sequence[ServiceSpec]) -> None:
        waiting = list(specs)
        deadline = time.monotonic() + self.config.ready_timeout
        while waiting:
            for spec in list(waiting):
                process = self.processes[spec.name]
                log_file = self.config.log_file(spec.name)
                if answers_ready(self.config.service_ports[spec.port_key], timeout=1.0):
                    waiting.remove(spec)
                    ready = len(specs) - len(waiting)
                    self._progress(spec.name, f"{spec.name} is ready", 2 + ready)
                elif process.poll() is not None:
                    raise SystemStartError(
                        f"{spec.name} exited with code {process.returncode} while starting; "
                        f"last lines of {log_file}:\n{log_tail(log_file)}"
                    )
                elif time.monotonic() > deadline:
                    raise SystemStartError(
                        f"{spec.name} did not answer 200 on /ready within "
                        f"{self.config.ready_timeout:.0f}s; last lines of {log_file}:\n"
                        f"{log_tail(log_file)}"
                    )
            if waiting:
                time.sleep(0.05)
