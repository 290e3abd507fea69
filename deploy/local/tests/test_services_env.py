from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bazaar_local.services import SERVICES, EnvContext, ServiceSpec, service_environment
from bazaar_local.system import System, SystemConfig

PORTS = {
    "gateway": 9000,
    "users": 9001,
    "products": 9002,
    "orders": 9003,
    "payments": 9004,
    "notifications": 9005,
}
NAMES = ["users", "products", "payments", "orders", "notifications", "gateway"]
WITH_DATABASE = ["users", "products", "payments", "orders", "notifications"]
ON_THE_BROKER = ["products", "payments", "orders", "notifications"]
JWKS = "http://127.0.0.1:9001/.well-known/jwks.json"


@pytest.fixture
def context(tmp_path: Path) -> EnvContext:
    return EnvContext(
        ports=PORTS,
        database_urls={
            name: f"postgresql+asyncpg://{name}:pw@127.0.0.1:5555/{name}" for name in WITH_DATABASE
        },
        signing_key_file=tmp_path / "jwt-signing.pem",
        admin_password="secret-admin",
        openapi_dir=tmp_path / "openapi",
        nats_url="nats://127.0.0.1:4999",
        event_schemas_dir=tmp_path / "events",
    )


def spec_of(name: str) -> ServiceSpec:
    return next(spec for spec in SERVICES if spec.name == name)


def env_of(name: str, ctx: EnvContext) -> dict[str, str]:
    return service_environment(spec_of(name), ctx)


def test_services_start_in_dependency_order() -> None:
    assert [spec.name for spec in SERVICES] == NAMES
    assert [spec.module for spec in SERVICES] == [f"bazaar_{name}" for name in NAMES]


@pytest.mark.parametrize("name", NAMES)
def test_every_service_gets_the_common_variables(name: str, context: EnvContext) -> None:
    env = env_of(name, context)
    assert env["HOST"] == "127.0.0.1"
    assert env["PORT"] == str(PORTS[name])
    assert env["ENVIRONMENT"] == "local"
    assert env["LOG_LEVEL"] == "INFO"
    assert env["SERVICE_VERSION"] == "0.1.0"


@pytest.mark.parametrize("name", NAMES)
def test_each_service_has_its_own_database_or_none(name: str, context: EnvContext) -> None:
    env = env_of(name, context)
    if name in WITH_DATABASE:
        assert env["DATABASE_URL"] == f"postgresql+asyncpg://{name}:pw@127.0.0.1:5555/{name}"
        assert spec_of(name).has_database
    else:
        assert "DATABASE_URL" not in env


@pytest.mark.parametrize("name", NAMES)
def test_producers_and_consumers_get_the_broker(
    name: str, context: EnvContext, tmp_path: Path
) -> None:
    env = env_of(name, context)
    if name in ON_THE_BROKER:
        assert env["NATS_URL"] == "nats://127.0.0.1:4999"
        assert env["EVENT_SCHEMAS_DIR"] == str(tmp_path / "events")
    else:
        assert "NATS_URL" not in env
        assert "EVENT_SCHEMAS_DIR" not in env


def test_the_broker_group_needs_a_broker(context: EnvContext) -> None:
    without = EnvContext(ports=PORTS, database_urls=context.database_urls)
    with pytest.raises(ValueError, match="NATS"):
        env_of("payments", without)


def test_users_signs_tokens_and_seeds_the_admin(context: EnvContext, tmp_path: Path) -> None:
    env = env_of("users", context)
    assert env["JWT_PRIVATE_KEY_FILE"] == str(tmp_path / "jwt-signing.pem")
    assert env["JWT_ISSUER"] == "bazaar-users"
    assert env["JWT_AUDIENCE"] == "bazaar"
    assert env["ADMIN_EMAIL"] == "admin@bazaar.example"
    assert env["ADMIN_PASSWORD"] == "secret-admin"
    assert "JWKS_URL" not in env


def test_products_verifies_tokens_and_seeds_the_catalog(context: EnvContext) -> None:
    env = env_of("products", context)
    assert env["JWKS_URL"] == JWKS
    assert env["SEED_DEMO_CATALOG"] == "true"
    assert "JWT_PRIVATE_KEY_FILE" not in env
    assert "ADMIN_PASSWORD" not in env


def test_payments_is_internal_and_keeps_its_processor_defaults(context: EnvContext) -> None:
    env = env_of("payments", context)
    assert "PROCESSOR_LATENCY_MS" not in env
    # It calls no one; it verifies tokens only for its admin endpoints (fault injection).
    assert env["JWKS_URL"] == JWKS
    assert not [
        key
        for key in env
        if key.endswith("_URL") and key not in {"DATABASE_URL", "NATS_URL", "JWKS_URL"}
    ]


def test_orders_knows_products_and_payments(context: EnvContext) -> None:
    env = env_of("orders", context)
    assert env["PRODUCTS_URL"] == "http://127.0.0.1:9002"
    assert env["PAYMENTS_URL"] == "http://127.0.0.1:9004"
    assert env["JWKS_URL"] == JWKS


def test_notifications_verifies_tokens(context: EnvContext) -> None:
    env = env_of("notifications", context)
    assert env["JWKS_URL"] == JWKS
    assert env["JWT_ISSUER"] == "bazaar-users"
    assert env["JWT_AUDIENCE"] == "bazaar"


def test_gateway_knows_the_public_services_only(context: EnvContext, tmp_path: Path) -> None:
    env = env_of("gateway", context)
    assert env["USERS_URL"] == "http://127.0.0.1:9001"
    assert env["PRODUCTS_URL"] == "http://127.0.0.1:9002"
    assert env["ORDERS_URL"] == "http://127.0.0.1:9003"
    assert env["NOTIFICATIONS_URL"] == "http://127.0.0.1:9005"
    assert "PAYMENTS_URL" not in env  # internal routes only; the gateway never routes them
    assert env["OPENAPI_DIR"] == str(tmp_path / "openapi")
    assert env["JWT_AUDIENCE"] == "bazaar"


def test_the_gateway_settings_take_every_upstream_the_launcher_gives(
    context: EnvContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway_settings = importlib.import_module("bazaar_gateway.settings")
    for key, value in env_of("gateway", context).items():
        monkeypatch.setenv(key, value)
    settings = gateway_settings.Settings()
    assert set(settings.upstream_urls()) == set(spec_of("gateway").calls)


def test_default_ports(tmp_path: Path) -> None:
    config = SystemConfig(data_dir=tmp_path)
    assert config.postgres_port == 55432
    assert config.nats_port == 4222
    assert config.nats_url == "nats://127.0.0.1:4222"
    assert config.nats_dir == tmp_path / "nats"
    assert config.service_ports == {
        "gateway": 8000,
        "users": 8001,
        "products": 8002,
        "orders": 8003,
        "payments": 8004,
        "notifications": 8005,
    }


def test_free_port_config_uses_distinct_ports(tmp_path: Path) -> None:
    config = SystemConfig.with_free_ports(tmp_path, fast_postgres=True)
    ports = [config.postgres_port, config.nats_port, *config.service_ports.values()]
    assert len(set(ports)) == len(ports) == 8
    assert config.fast_postgres


def test_system_knows_its_broker_url(tmp_path: Path) -> None:
    system = System(SystemConfig.with_free_ports(tmp_path))
    assert system.nats_url == f"nats://127.0.0.1:{system.config.nats_port}"


def test_state_lists_postgres_and_nats_before_the_services(tmp_path: Path) -> None:
    system = System(SystemConfig.with_free_ports(tmp_path))
    state = system.state()
    assert [c.name for c in state.components] == ["postgres", "nats", *NAMES]
    nats = state.components[1]
    assert nats.url == system.nats_url
    assert nats.pid is None
    assert nats.log == str(tmp_path / "logs" / "nats.log")


def test_nothing_is_dead_before_the_start(tmp_path: Path) -> None:
    assert System(SystemConfig.with_free_ports(tmp_path)).dead_components() == {}


def test_fault_tools_refuse_unknown_or_unstarted_services(tmp_path: Path) -> None:
    system = System(SystemConfig.with_free_ports(tmp_path))
    with pytest.raises(ValueError, match="no service named"):
        system.kill_service("billing")
    with pytest.raises(RuntimeError, match="never started"):
        system.kill_service("orders")
