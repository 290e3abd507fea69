"""Where the system keeps its data and which ports it listens on."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bazaar_local.ports import free_ports
from bazaar_local.services import DEFAULT_NATS_PORT, DEFAULT_PORTS, SERVICES, ServiceSpec

# The key of `SystemConfig.extra_env` whose variables every service gets.
ALL_SERVICES = "*"


@dataclass
class SystemConfig:
    data_dir: Path
    postgres_port: int = 55432
    nats_port: int = DEFAULT_NATS_PORT
    service_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    services: tuple[ServiceSpec, ...] = SERVICES
    # Durability off (fsync and friends): for throwaway systems in tests.
    fast_postgres: bool = False
    ready_timeout: float = 60.0
    # Longer than a service's own SHUTDOWN_GRACE_SECONDS (10 s) plus its consumer and outbox
    # flush, so a clean SIGTERM shutdown is never cut short by SIGKILL.
    stop_grace: float = 20.0
    log_level: str = "INFO"
    repo_root: Path | None = None
    python: str = sys.executable
    # The `/admin/faults` endpoints (admin token only) that `bazaar chaos` drives: on for the
    # local system, a developer's machine; the services' own default stays off.
    fault_injection: bool = True
    # Spans of every service as OTLP/JSON lines under `traces_dir` ("file"), or none ("none":
    # trace ids still propagate to logs and responses). What `bazaar trace` reads.
    traces_exporter: str = "file"
    # Per-service variables applied last, over the launcher's own (`ALL_SERVICES` first, then
    # the service's name): tests shorten breaker windows or lower admission limits this way.
    extra_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def with_free_ports(cls, data_dir: Path, **overrides: object) -> SystemConfig:
        """A config whose every port is free now: for tests running beside a real `up`."""
        config = cls(data_dir=data_dir)
        for name, value in overrides.items():
            setattr(config, name, value)
        keys = sorted({spec.port_key for spec in config.services})
        postgres_port, nats_port, *ports = free_ports(2 + len(keys))
        config.postgres_port = postgres_port
        config.nats_port = nats_port
        config.service_ports = dict(zip(keys, ports, strict=True))
        return config

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def traces_dir(self) -> Path:
        return self.data_dir / "traces"

    @property
    def nats_dir(self) -> Path:
        """JetStream's store: streams and consumers survive restarts of the broker."""
        return self.data_dir / "nats"

    @property
    def secrets_file(self) -> Path:
        return self.data_dir / "secrets.json"

    @property
    def signing_key_file(self) -> Path:
        return self.data_dir / "keys" / "jwt-signing.pem"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    def overrides_for(self, service: str) -> dict[str, str]:
        """The `extra_env` variables of `service`: the shared ones, then its own."""
        return {**self.extra_env.get(ALL_SERVICES, {}), **self.extra_env.get(service, {})}

    def url(self, port_key: str) -> str:
        return f"http://127.0.0.1:{self.service_ports[port_key]}"

    def log_file(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"
