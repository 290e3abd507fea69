"""Configuration read from environment variables, one pydantic-settings class per service.

A service's ``Settings`` subclasses :class:`ServiceSettings` and mixes in what it needs
(:class:`DatabaseSettings`, :class:`AuthSettings`). Missing or unsafe values fail at start-up,
never on the first request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .tracing_settings import TracingSettings

Environment = Literal["local", "test", "production"]
S = TypeVar("S", bound=BaseSettings)


class ServiceSettings(TracingSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    service_name: str
    service_version: str = "0.1.0"
    environment: Environment = "local"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    # Bounds every request body a service accepts; larger bodies get 413 before parsing.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # The budget of a request that arrives without X-Request-Deadline-Ms.
    request_deadline_seconds: float = Field(default=10.0, gt=0.0, le=3600.0)
    # Admission control: requests running at once, and how long the excess may queue before
    # it is shed with 503 + Retry-After.
    max_inflight_requests: int = Field(default=256, ge=1)
    max_queue_seconds: float = Field(default=0.1, ge=0.0, le=60.0)
    # Fault injection (latency, errors, aborts, dependency faults) through /admin/faults.
    fault_injection_enabled: bool = False
    # SIGTERM: how long in-flight requests may take to finish before the process exits.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0.0, le=300.0)


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str
    # Connections are opened as needed up to the pool size and then kept. Overflow connections
    # are closed as soon as they are returned, so under steady concurrency above the pool size
    # every request paid for a new connection (2 ms of CPU each, measured): size the pool for
    # the concurrency instead, and let the excess wait for a connection.
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    # A round trip before every checkout to find connections a database restart killed. Off:
    # it cost 12% of a catalog read's throughput, and without it the first statement on a
    # dead connection fails (503, retried by callers), which invalidates the whole pool.
    db_pool_pre_ping: bool = False
    db_statement_timeout_ms: int = Field(default=5000, ge=100)

    @model_validator(mode="after")
    def _asyncpg_url(self) -> DatabaseSettings:
        if not self.database_url.startswith("postgresql+asyncpg://"):
            raise ValueError("DATABASE_URL must be a postgresql+asyncpg:// URL")
        return self


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    jwks_url: str
    jwt_issuer: str = "bazaar-users"
    jwt_audience: str = "bazaar"
    jwks_cache_seconds: float = Field(default=300.0, ge=1.0)
    # Allowed clock difference between the token issuer and this service.
    jwt_leeway_seconds: float = Field(default=10.0, ge=0.0, le=120.0)


def load_settings(settings_class: type[S]) -> S:
    """Reads settings from the environment, or exits naming what is wrong and never its value.

    pydantic's own message repeats the inputs, and those include passwords (DATABASE_URL).
    """
    try:
        return settings_class()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        )
        raise SystemExit(f"invalid configuration: {problems}") from None


class MessagingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    nats_url: str
    event_schemas_dir: Path
    consumer_max_deliver: int = Field(default=5, ge=1, le=100)
    # The folder is checked when the schemas are loaded at start-up (EventSchemas.load fails
    # fast there), so building settings for an OpenAPI document needs no real folder.
    outbox_poll_seconds: float = Field(default=0.5, gt=0, le=60)
