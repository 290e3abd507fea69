"""Each service's OpenAPI document is the contract in contracts/openapi/: a drift fails here.

Regenerate the files with `./bazaar contracts` after changing an API on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bazaar_local.contracts import live_documents, render

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "openapi"
LIVE = live_documents()


def test_every_service_with_an_api_has_a_contract() -> None:
    # Every service but the gateway (which serves no API of its own).
    assert sorted(LIVE) == ["notifications", "orders", "payments", "products", "users"]
    assert sorted(p.stem for p in CONTRACTS.glob("*.json")) == sorted(LIVE)


@pytest.mark.parametrize("service", sorted(LIVE))
def test_live_document_equals_contract(service: str) -> None:
    stored = (CONTRACTS / f"{service}.json").read_text()
    assert render(LIVE[service]) == stored, (
        f"the {service} API drifted from contracts/openapi/{service}.json; "
        "if the change is intended, run `./bazaar contracts`"
    )


@pytest.mark.parametrize("service", sorted(LIVE))
def test_internal_operations_are_marked(service: str) -> None:
    document = json.loads((CONTRACTS / f"{service}.json").read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            internal = bool(operation.get("x-internal"))
            assert internal == path.startswith("/internal/"), f"{method.upper()} {path}"
