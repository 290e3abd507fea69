"""`SystemConfig.extra_env` and fault injection: what the tests and `bazaar up` add on top of
each service's own environment."""

from __future__ import annotations

from pathlib import Path

from bazaar_local.system import System, SystemConfig
from bazaar_local.system_config import ALL_SERVICES


def system_with(tmp_path: Path, **overrides: object) -> System:
    system = System(SystemConfig.with_free_ports(tmp_path, **overrides))
    system.database_urls.update(
        {name: f"postgresql+asyncpg://{name}@127.0.0.1:1/{name}" for name in ("orders", "payments")}
    )
    return system


def env_of(system: System, name: str) -> dict[str, str]:
    spec = next(spec for spec in system.config.services if spec.name == name)
    return system.service_environment(spec)


def test_local_systems_enable_fault_injection(tmp_path: Path) -> None:
    system = system_with(tmp_path)
    for name in ("orders", "payments", "gateway"):
        assert env_of(system, name)["FAULT_INJECTION_ENABLED"] == "true"


def test_fault_injection_can_be_left_off(tmp_path: Path) -> None:
    system = system_with(tmp_path, fault_injection=False)
    assert "FAULT_INJECTION_ENABLED" not in env_of(system, "orders")


def test_extra_env_applies_shared_then_own_variables_last(tmp_path: Path) -> None:
    system = system_with(
        tmp_path,
        extra_env={
            ALL_SERVICES: {"BREAKER_OPEN_SECONDS": "2", "LOG_LEVEL": "DEBUG"},
            "orders": {"BREAKER_OPEN_SECONDS": "5", "PAYMENTS_TIMEOUT_SECONDS": "1"},
        },
    )
    orders, payments = env_of(system, "orders"), env_of(system, "payments")
    assert orders["BREAKER_OPEN_SECONDS"] == "5"  # its own beats the shared one
    assert orders["PAYMENTS_TIMEOUT_SECONDS"] == "1"
    assert orders["LOG_LEVEL"] == "DEBUG"  # overrides the launcher's own variables too
    assert payments["BREAKER_OPEN_SECONDS"] == "2"
    assert "PAYMENTS_TIMEOUT_SECONDS" not in payments
    # The launcher's wiring is untouched where nothing overrides it.
    assert orders["PORT"] == str(system.config.service_ports["orders"])


def test_no_extra_env_by_default(tmp_path: Path) -> None:
    config = SystemConfig(data_dir=tmp_path)
    assert config.extra_env == {}
    assert config.overrides_for("orders") == {}
