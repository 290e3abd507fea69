"""Small OpenAPI documents standing in for the services' contracts (public, protected, internal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

BEARER = [{"bearerAuth": []}]


def _op(**extra: Any) -> dict[str, Any]:
    return {"responses": {"200": {"description": "OK"}}, **extra}


def products_contract() -> dict[str, Any]:
    """No document-level security: operations are public unless they say otherwise."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "products", "version": "0.1.0"},
        "paths": {
            "/products": {"get": _op(), "post": _op(security=BEARER)},
            "/products/{productId}": {"get": _op(), "delete": _op(security=BEARER)},
            "/echo": {"post": _op(), "put": _op()},
            "/slow": {"get": _op()},
            "/redirect": {"get": _op()},
            "/stream": {"get": _op()},
            "/internal/reservations": {"post": _op()},
            "/internal/reservations/{orderId}": {"delete": _op()},
        },
    }


def orders_contract() -> dict[str, Any]:
    """Document-level security: operations need a token unless they clear it with `[]`."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "orders", "version": "0.1.0"},
        "security": BEARER,
        "paths": {
            "/orders": {"get": _op(), "post": _op()},
            "/orders/{orderId}": {"get": _op()},
            "/orders/summary": {"get": _op(security=[])},
            "/orders/{orderId}/audit": {"get": _op(**{"x-internal": True})},
            "/orders/{orderId}/items/{itemId}": {"get": _op(security=[{}])},
        },
    }


def internal_only_contract() -> dict[str, Any]:
    """A service with nothing public (as payments): it needs no URL at the gateway."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "payments", "version": "0.1.0"},
        "paths": {
            "/internal/payments": {"post": _op()},
            "/payments/{paymentId}": {"get": _op(**{"x-internal": True})},
        },
    }


def write_contracts(folder: Path, documents: dict[str, dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for service, document in documents.items():
        (folder / f"{service}.json").write_bytes(orjson.dumps(document))
    return folder


@pytest.fixture
def contracts() -> dict[str, dict[str, Any]]:
    return {
        "products": products_contract(),
        "orders": orders_contract(),
        "payments": internal_only_contract(),
    }


@pytest.fixture
def contracts_dir(tmp_path: Path, contracts: dict[str, dict[str, Any]]) -> Path:
    return write_contracts(tmp_path / "openapi", contracts)


@pytest.fixture
def contracts_writer(tmp_path: Path) -> Any:
    """Writes a custom set of contracts to a fresh folder and returns it."""

    def write(documents: dict[str, dict[str, Any]], name: str = "custom") -> Path:
        return write_contracts(tmp_path / name, documents)

    return write
