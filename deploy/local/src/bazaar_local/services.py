"""Which services the launcher runs, in which order, and the environment each one gets.

Adding a service is adding a `ServiceSpec`; the environment comes from named groups so a new
kind of dependency (the broker, say) is one more group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

JWT_ISSUER = "bazaar-users"
JWT_AUDIENCE = "bazaar"
ADMIN_EMAIL = "admin@bazaar.example"
SERVICE_VERSION = "0.1.0"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port_key: str
    env_groups: tuple[str, ...]
    # Services whose base URL this one is given as `<NAME>_URL`.
    calls: tuple[str, ...] = ()
    # Its own database (named like the service, owned by a role of the same name).
    has_database: bool = False


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "users", "bazaar_users", "users",
        ("common", "database", "jwt_signer", "jwt", "admin"), has_database=True,
    ),
    ServiceSpec(
        "products", "bazaar_products", "products",
        ("common", "database", "broker", "jwks", "jwt", "demo_catalog"), has_database=True,
    ),
    # Internal only: no user ever calls it, but it verifies admin tokens for `/admin/faults`
    # (`bazaar chaos`). PROCESSOR_LATENCY_MS is left to the service's default.
    ServiceSpec(
        "payments", "bazaar_payments", "payments",
        ("common", "database", "broker", "jwks", "jwt"), has_database=True,
    ),
    ServiceSpec(
        "orders", "bazaar_orders", "orders",
        ("common", "database", "broker", "jwks", "jwt"), calls=("products", "payments"),
        has_database=True,
    ),
    ServiceSpec(
        "notifications", "bazaar_notifications", "notifications",
        ("common", "database", "broker", "jwks", "jwt"), has_database=True,
    ),
    ServiceSpec(
        "gateway", "bazaar_gateway", "gateway",
        ("common", "jwks", "jwt", "openapi"),
        calls=("users", "products", "orders", "notifications"),
    ),
)  # fmt: skip

DEFAULT_PORTS: Mapping[str, int] = {
    "gateway": 8000,
    "users": 8001,
    "products": 8002,
    "orders": 8003,
    "payments": 8004,
    "notifications": 8005,
}
DEFAULT_NATS_PORT = 4222


@dataclass(frozen=True)
class EnvContext:
    """Everything the environment groups draw on."""

    ports: Mapping[str, int]
    database_urls: Mapping[str, str] = field(default_factory=dict)
    signing_key_file: Path | None = None
    admin_password: str = ""
    openapi_dir: Path | None = None
    nats_url: str | None = None
    event_schemas_dir: Path | None = None
    log_level: str = "INFO"
    environment: str = "local"
    fault_injection: bool = False
    # Where spans go: "file" (OTLP/JSON lines in `traces_dir`, the local default) or "none".
    traces_exporter: str = "none"
    traces_dir: Path | None = None

    def url_of(self, port_key: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_key]}"


EnvGroup = Callable[[ServiceSpec, EnvContext], dict[str, str]]


def _common(spec: ServiceSpec, ctx: EnvContext) -> dict[str, str]:
    env = {
        "HOST": "127.0.0.1",
        "PORT": str(ctx.ports[spec.port_key]),
        "ENVIRONMENT": ctx.environment,
        "LOG_LEVEL": ctx.log_level,
        "SERVICE_VERSION": SERVICE_VERSION,
    }
    if ctx.fault_injection:
        env["FAULT_INJECTION_ENABLED"] = "true"
    env["TRACES_EXPORTER"] = ctx.traces_exporter
    if ctx.traces_dir is not None:
        env["TRACES_DIR"] = str(ctx.traces_dir)
    return env


def _database(spec: ServiceSpec, ctx: EnvContext) -> dict[str, str]:
    return {"DATABASE_URL": ctx.database_urls[spec.name]}


def _jwt(_: ServiceSpec, __: EnvContext) -> dict[str, str]:
    return {"JWT_ISSUER": JWT_ISSUER, "JWT_AUDIENCE": JWT_AUDIENCE}


def _jwt_signer(_: ServiceSpec, ctx: EnvContext) -> dict[str, str]:
    if ctx.signing_key_file is None:
        raise ValueError("the token signer needs a signing key file")
    return {"JWT_PRIVATE_KEY_FILE": str(ctx.signing_key_file)}


def _jwks(_: ServiceSpec, ctx: EnvContext) -> dict[str, str]:
    return {"JWKS_URL": f"{ctx.url_of('users')}/.well-known/jwks.json"}


def _admin(_: ServiceSpec, ctx: EnvContext) -> dict[str, str]:
    return {"ADMIN_EMAIL": ADMIN_EMAIL, "ADMIN_PASSWORD": ctx.admin_password}


def _demo_catalog(_: ServiceSpec, __: EnvContext) -> dict[str, str]:
    return {"SEED_DEMO_CATALOG": "true"}


def _openapi(_: ServiceSpec, ctx: EnvContext) -> dict[str, str]:
    if ctx.openapi_dir is None:
        raise ValueError("the gateway needs the OpenAPI contracts folder")
    # Every request in the gateway's log too: locally, following one request through every
    # service's log matters more than the gateway's last microseconds.
    return {"OPENAPI_DIR": str(ctx.openapi_dir), "ACCESS_LOG": "all"}


def _broker(_: ServiceSpec, ctx: EnvContext) -> dict[str, str]:
    if ctx.nats_url is None or ctx.event_schemas_dir is None:
        raise ValueError("producers and consumers need the NATS URL and the event schemas folder")
    return {"NATS_URL": ctx.nats_url, "EVENT_SCHEMAS_DIR": str(ctx.event_schemas_dir)}


ENV_GROUPS: Mapping[str, EnvGroup] = {
    "common": _common,
    "database": _database,
    "jwt": _jwt,
    "jwt_signer": _jwt_signer,
    "jwks": _jwks,
    "admin": _admin,
    "demo_catalog": _demo_catalog,
    "openapi": _openapi,
    "broker": _broker,
}


def service_environment(spec: ServiceSpec, ctx: EnvContext) -> dict[str, str]:
    """The variables `spec` is started with (on top of the launcher's own environment)."""
    env: dict[str, str] = {}
    for group in spec.env_groups:
        env.update(ENV_GROUPS[group](spec, ctx))
    for callee in spec.calls:
        env[f"{callee.upper()}_URL"] = ctx.url_of(callee)
    return env
