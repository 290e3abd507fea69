from __future__ import annotations

from pathlib import Path

import pytest

from bazaar_local.services import SERVICES, EnvContext, service_environment
from bazaar_local.system import SystemConfig

PORTS = {"users": 9001, "products": 9002, "orders": 9003, "gateway": 9000}


@pytest.fixture
def context(tmp_path: Path) -> EnvContext:
    return EnvContext(
        ports=PORTS,
        database_urls={
            name: f"postgresql+asyncpg://{name}:pw@127.0.0.1:5555/{name}"
            for name in ("users", "products", "orders")
        },
        signing_key_file=tmp_path / "jwt-signing.pem",
        admin_password="secret-admin",
        openapi_dir=tmp_path / "openapi",
    )


def env_of(name: str, ctx: EnvContext) -> dict[str, str]:
    spec = next(spec for spec in SERVICES if spec.name == name)
    return service_environment(spec, ctx)


def test_services_start_in_dependency_order() -> None:
    assert [spec.name for spec in SERVICES] == ["users", "products", "orders", "gateway"]
    assert [spec.module for spec in SERVICES] == [
        "bazaar_users", "bazaar_products", "bazaar_orders", "bazaar_gateway",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["users", "products", "orders", "gateway"])
def test_every_service_gets_the_common_variables(name: str, context: EnvContext) -> None:
    env = env_of(name, context)
    assert env["HOST"] == "127.0.0.1"
    assert env["PORT"] == str(PORTS[name])
    assert env["ENVIRONMENT"] == "local"
    assert env["LOG_LEVEL"] == "INFO"
    assert env["SERVICE_VERSION"] == "0.1.0"


def test_users_signs_tokens_and_seeds_the_admin(context: EnvContext, tmp_path: Path) -> None:
    env = env_of("users", context)
    assert env["DATABASE_URL"].endswith("/users")
    assert env["JWT_PRIVATE_KEY_FILE"] == str(tmp_path / "jwt-signing.pem")
    assert env["JWT_ISSUER"] == "bazaar-users"
    assert env["JWT_AUDIENCE"] == "bazaar"
    assert env["ADMIN_EMAIL"] == "admin@bazaar.example"
    assert env["ADMIN_PASSWORD"] == "secret-admin"
    assert "JWKS_URL" not in env


def test_products_verifies_tokens_and_seeds_the_catalog(context: EnvContext) -> None:
    env = env_of("products", context)
    assert env["DATABASE_URL"].endswith("/products")
    assert env["JWKS_URL"] == "http://127.0.0.1:9001/.well-known/jwks.json"
    assert env["SEED_DEMO_CATALOG"] == "true"
    assert "JWT_PRIVATE_KEY_FILE" not in env
    assert "ADMIN_PASSWORD" not in env


def test_orders_knows_products(context: EnvContext) -> None:
    env = env_of("orders", context)
    assert env["DATABASE_URL"].endswith("/orders")
    assert env["PRODUCTS_URL"] == "http://127.0.0.1:9002"
    assert env["JWKS_URL"] == "http://127.0.0.1:9001/.well-known/jwks.json"


def test_gateway_knows_every_service_and_has_no_database(
    context: EnvContext, tmp_path: Path
) -> None:
    env = env_of("gateway", context)
    assert env["USERS_URL"] == "http://127.0.0.1:9001"
    assert env["PRODUCTS_URL"] == "http://127.0.0.1:9002"
    assert env["ORDERS_URL"] == "http://127.0.0.1:9003"
    assert env["OPENAPI_DIR"] == str(tmp_path / "openapi")
    assert env["JWT_AUDIENCE"] == "bazaar"
    assert "DATABASE_URL" not in env


def test_default_ports(tmp_path: Path) -> None:
    config = SystemConfig(data_dir=tmp_path)
    assert config.postgres_port == 55432
    assert config.service_ports == {
        "gateway": 8000,
        "users": 8001,
        "products": 8002,
        "orders": 8003,
    }


def test_free_port_config_uses_distinct_ports(tmp_path: Path) -> None:
    config = SystemConfig.with_free_ports(tmp_path, fast_postgres=True)
    ports = [config.postgres_port, *config.service_ports.values()]
    assert len(set(ports)) == len(ports)
    assert config.fast_postgres
