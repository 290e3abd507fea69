"""What each running service serves is exactly its contract file."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bazaar_local.system import System

pytestmark = pytest.mark.system

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "openapi"


@pytest.mark.parametrize("service", ["users", "products", "orders"])
def test_served_openapi_equals_contract(shop: System, service: str) -> None:
    served = httpx.get(f"{shop.config.url(service)}/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == json.loads((CONTRACTS / f"{service}.json").read_text())


def test_every_service_is_ready(shop: System) -> None:
    for service in ("users", "products", "orders", "gateway"):
        ready = httpx.get(f"{shop.config.url(service)}/ready", timeout=10)
        assert ready.status_code == 200, (service, ready.text)
