"""The services' real contracts (contracts/openapi) make a valid route table for the gateway."""

from __future__ import annotations

from pathlib import Path

from bazaar_gateway.routes import load_route_table

CONTRACTS = Path(__file__).resolve().parents[4] / "contracts" / "openapi"


def test_the_repository_contracts_build_a_route_table_without_internal_routes() -> None:
    # The services the launcher gives the gateway a URL for; payments is internal only.
    upstreams = ["users", "products", "orders", "notifications"]
    table = load_route_table(CONTRACTS, upstreams)
    assert table.services <= set(upstreams)
    templates = {operation.template for _, operation in table.operations()}
    assert templates
    assert not [t for t in templates if t.startswith("/internal/")]
    for method, operation in table.operations():
        example = operation.template.replace("{", "x").replace("}", "")
        assert table.resolve(method, example) is not None
