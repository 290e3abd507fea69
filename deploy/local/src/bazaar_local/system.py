"""The one code path that starts the whole system, for `bazaar up` and the system tests alike.

Besides start and stop, `System` has the fault tools the crash-safety and outage tests use:
kill and restart a service, stop and start the broker; any thread may call them.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from bazaar_local import credentials
from bazaar_local.nats import NatsServer
from bazaar_local.paths import repo_root
from bazaar_local.ports import port_in_use
from bazaar_local.postgres import PostgresServer
from bazaar_local.readiness import NotReadyError, ReadinessTarget, wait_until_ready
from bazaar_local.run_state import ComponentState, RunState, clear_state, read_state, write_state
from bazaar_local.service_processes import ServiceProcesses, Spawner
from bazaar_local.services import ADMIN_EMAIL, EnvContext, ServiceSpec
from bazaar_local.services import service_environment as build_service_environment
from bazaar_local.system_config import SystemConfig

__all__ = ["ProgressCallback", "ProgressEvent", "System", "SystemConfig", "SystemStartError"]

# postgres, databases, nats, then one step per service.
_STEPS_BEFORE_SERVICES = 3


class SystemStartError(RuntimeError):
    """A part of the system did not start; the message carries the tail of its log."""


@dataclass(frozen=True)
class ProgressEvent:
    component: str
    message: str
    done: int
    total: int


ProgressCallback = Callable[[ProgressEvent], None]


class System:
    """PostgreSQL, NATS JetStream and every service as child processes.

    `stop()` is safe to call at any time.
    """

    def __init__(self, config: SystemConfig, on_progress: ProgressCallback | None = None) -> None:
        self.config = config
        self._on_progress = on_progress
        self.postgres = PostgresServer(
            config.data_dir / "postgres",
            config.postgres_port,
            fast=config.fast_postgres,
            log_file=config.log_file("postgres"),
        )
        self.nats = NatsServer(config.nats_dir, config.nats_port, log_file=config.log_file("nats"))
        self._spawner = Spawner()
        self._services = ServiceProcesses(config, self._spawner, self.service_environment)
        self.database_urls: dict[str, str] = {}
        self._secrets: dict[str, object] = {}

    # -- public ---------------------------------------------------------------------------

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        """The services' current processes, by service name."""
        return self._services.running

    @property
    def admin_email(self) -> str:
        return ADMIN_EMAIL

    @property
    def admin_password(self) -> str:
        return credentials.admin_password(self._secrets)

    @property
    def gateway_url(self) -> str:
        return self.config.url("gateway")

    @property
    def nats_url(self) -> str:
        return self.config.nats_url

    def urls(self) -> dict[str, str]:
        return {spec.name: self.config.url(spec.port_key) for spec in self.config.services}

    def start(self) -> None:
        """Start everything in order and return once every service answers `/ready`."""
        if self.processes:
            raise RuntimeError("System already started; stop() it first")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop services (SIGTERM, then SIGKILL after the grace period), NATS, then PostgreSQL."""
        self._services.stop_all()
        self.nats.stop(timeout=self.config.stop_grace)
        self.postgres.stop()
        self._spawner.close()
        state = read_state(self.config.data_dir)
        if state is not None and state.launcher_pid == os.getpid():
            clear_state(self.config.data_dir)

    def dead_components(self) -> dict[str, int]:
        """Components that exited unexpectedly since they were started, with their exit codes.

        A service killed with `kill_service` (until it is restarted) and the broker stopped
        with `stop_broker` are not unexpected.
        """
        dead = self._services.dead()
        nats_exit = self.nats.exit_code()
        if nats_exit is not None:
            dead["nats"] = nats_exit
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
            ),
            ComponentState(
                name="nats",
                pid=self.nats.pid,
                port=self.config.nats_port,
                url=self.config.nats_url,
                log=str(self.config.log_file("nats")),
            ),
        ]
        components.extend(
            ComponentState(
                name=spec.name,
                pid=self._services.pid(spec.name),
                port=self.config.service_ports[spec.port_key],
                url=self.config.url(spec.port_key),
                log=str(self.config.log_file(spec.name)),
            )
            for spec in self.config.services
        )
        return RunState(
            launcher_pid=os.getpid(), data_dir=str(self.config.data_dir), components=components
        )

    def service_environment(self, spec: ServiceSpec) -> dict[str, str]:
        """The variables `spec` gets on top of the launcher's environment (the config's
        `extra_env` last, so it overrides anything)."""
        root = self.config.repo_root or repo_root()
        ctx = EnvContext(
            ports=self.config.service_ports,
            database_urls=self.database_urls,
            signing_key_file=self.config.signing_key_file,
            # No secrets before start(): only the wiring is being looked at then.
            admin_password=self.admin_password if self._secrets else "",
            openapi_dir=root / "contracts" / "openapi",
            nats_url=self.config.nats_url,
            event_schemas_dir=root / "contracts" / "events",
            log_level=self.config.log_level,
            fault_injection=self.config.fault_injection,
            traces_exporter=self.config.traces_exporter,
            traces_dir=self.config.traces_dir if self.config.traces_exporter == "file" else None,
        )
        return {**build_service_environment(spec, ctx), **self.config.overrides_for(spec.name)}

    # -- fault tools (for tests) ----------------------------------------------------------

    def kill_service(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send `sig` to the service's process group and wait until it has died.

        A service that outlives a gentler signal by the stop grace period is SIGKILLed. Until
        `restart_service`, `dead_components()` does not report it.
        """
        self._services.kill(name, sig)
        self._record_state()

    def restart_service(
        self, name: str, *, wait: bool = True, timeout: float | None = None
    ) -> None:
        """Start the service again with the same environment and log file.

        A running service is stopped first (SIGTERM). With `wait`, returns once it answers
        `/ready` (`SystemStartError` if it exits or times out); without, right after spawning
        (e.g. while a dependency its readiness checks is down on purpose).
        """
        self._services.respawn(name)
        self._record_state()
        if wait:
            self.wait_ready(name, timeout=timeout)

    def wait_ready(self, name: str, *, timeout: float | None = None) -> None:
        """Block until the service answers 200 on `/ready` (default: the config's timeout)."""
        self._wait_until_ready([self._services.spec(name)], timeout=timeout)

    def stop_broker(self, *, kill: bool = False) -> None:
        """Stop NATS: cleanly (SIGTERM, JetStream flushes), or with `kill` as a crash would."""
        if kill:
            self.nats.kill()
        else:
            self.nats.stop(timeout=self.config.stop_grace)
        self._record_state()

    def start_broker(self) -> None:
        """Start NATS again on the same port and store: JetStream's streams are still there."""
        self._spawner.run(self.nats.start)
        self._record_state()
        self.nats.wait_ready(timeout=self.config.ready_timeout)

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
            total = _STEPS_BEFORE_SERVICES + len(self.config.services)
            self._on_progress(ProgressEvent(component, message, done, total))

    def _start(self) -> None:
        config = self.config
        for directory in (config.data_dir, config.logs_dir, config.data_dir / "run"):
            directory.mkdir(parents=True, exist_ok=True)
        databases = [spec.name for spec in config.services if spec.has_database]
        self._secrets = credentials.load_or_create_secrets(config.secrets_file, databases)
        credentials.ensure_signing_key(config.signing_key_file)
        self._check_ports_free()

        # NATS needs nothing from PostgreSQL: it comes up while the cluster starts (or initdb
        # runs), and is waited for after the databases.
        self._spawner.run(self.nats.start)
        self._record_state()

        self._progress("postgres", "starting PostgreSQL", 0)
        self.postgres.init()
        self._spawner.run(self.postgres.start)
        self._record_state()
        self.postgres.wait_ready()

        self._progress("databases", "creating databases and roles", 1)
        for name in databases:
            password = credentials.database_password(self._secrets, name)
            self.database_urls[name] = self.postgres.ensure_database_sync(name, name, password)

        self._progress("nats", "starting NATS JetStream", 2)
        self.nats.wait_ready(timeout=config.ready_timeout)

        # All at once: no service needs another to start (JWKS, upstreams and the broker's
        # streams are reached lazily), and the gateway's readiness waits for its upstreams.
        self._progress("services", "starting services", _STEPS_BEFORE_SERVICES)
        for spec in config.services:
            self._services.spawn(spec)
            self._record_state()
        self._wait_until_ready(config.services, report=True)
        self._progress("system", "ready", _STEPS_BEFORE_SERVICES + len(config.services))

    def _check_ports_free(self) -> None:
        ports = {"postgres": self.config.postgres_port, "nats": self.config.nats_port}
        ports.update({s.name: self.config.service_ports[s.port_key] for s in self.config.services})
        busy = [f"{name} ({port})" for name, port in ports.items() if port_in_use(port)]
        if busy:
            raise SystemStartError(f"ports already in use: {', '.join(busy)}")

    def _record_state(self) -> None:
        write_state(self.config.data_dir, self.state())

    def _wait_until_ready(
        self, specs: Sequence[ServiceSpec], *, timeout: float | None = None, report: bool = False
    ) -> None:
        ready: list[str] = []

        def on_ready(target: ReadinessTarget) -> None:
            ready.append(target.name)
            if report:
                done = _STEPS_BEFORE_SERVICES + len(ready)
                self._progress(target.name, f"{target.name} is ready", done)

        try:
            wait_until_ready(
                self._services.readiness_targets(specs),
                timeout=self.config.ready_timeout if timeout is None else timeout,
                on_ready=on_ready,
            )
        except NotReadyError as error:
            raise SystemStartError(str(error)) from None
