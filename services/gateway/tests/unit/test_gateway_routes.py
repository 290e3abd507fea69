"""The route table built from OpenAPI documents, and how requests are matched against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bazaar_gateway.routes import (
    MethodNotAllowed,
    Operation,
    RouteTableError,
    build_route_table,
    is_public,
    load_route_table,
)


@pytest.fixture
def table(contracts: dict[str, dict[str, Any]]) -> Any:
    return build_route_table(contracts)


def test_literal_paths_resolve_to_their_service_and_access(table: Any) -> None:
    assert table.resolve("GET", "/products") == Operation("products", True, "/products")
    assert table.resolve("POST", "/products") == Operation("products", False, "/products")
    assert table.resolve("GET", "/orders") == Operation("orders", False, "/orders")


def test_document_level_security_protects_and_empty_security_clears_it(table: Any) -> None:
    assert table.resolve("GET", "/orders/123").public is False
    assert table.resolve("GET", "/orders/summary").public is True
    # An empty requirement object means "anonymous allowed".
    assert table.resolve("GET", "/orders/1/items/2").public is True


def test_path_parameters_match_exactly_one_non_empty_segment(table: Any) -> None:
    op = table.resolve("GET", "/products/3f1c")
    assert op == Operation("products", True, "/products/{productId}")
    assert table.resolve("GET", "/products/a/b") is None
    assert table.resolve("GET", "/products/") is None
    assert table.resolve("GET", "/orders/o-1/items/i-2").template == (
        "/orders/{orderId}/items/{itemId}"
    )


def test_a_literal_path_wins_over_a_template_of_the_same_shape(table: Any) -> None:
    assert table.resolve("GET", "/orders/summary").template == "/orders/summary"
    assert table.resolve("GET", "/orders/other").template == "/orders/{orderId}"


def test_internal_operations_and_paths_are_never_routed(table: Any) -> None:
    assert table.resolve("POST", "/internal/reservations") is None
    assert table.resolve("DELETE", "/internal/reservations/o-1") is None
    assert table.resolve("GET", "/orders/o-1/audit") is None
    assert table.resolve("GET", "/payments/p-1") is None
    assert "payments" not in table.services


def test_unknown_paths_are_none_and_wrong_methods_name_the_allowed_ones(table: Any) -> None:
    assert table.resolve("GET", "/nothing-here") is None
    assert table.resolve("GET", "/") is None
    assert table.resolve("PATCH", "/products/p-1") == MethodNotAllowed("DELETE, GET, HEAD")
    assert table.resolve("DELETE", "/products") == MethodNotAllowed("GET, HEAD, POST")


def test_head_is_answered_where_get_is(table: Any) -> None:
    assert table.resolve("HEAD", "/products/p-1") == table.resolve("GET", "/products/p-1")


def test_dot_segments_are_never_routed(table: Any) -> None:
    assert table.resolve("GET", "/products/..") is None
    assert table.resolve("GET", "/products/.") is None


def test_partial_segment_parameters_match_within_the_segment() -> None:
    docs = {"files": {"paths": {"/files/{name}.json": {"get": {}}}}}
    table = build_route_table(docs)
    assert table.resolve("GET", "/files/report.json") is not None
    assert table.resolve("GET", "/files/report.xml") is None
    assert table.resolve("GET", "/files/.json") is None


def test_templates_differing_only_in_parameter_names_are_one_route() -> None:
    docs = {
        "a": {"paths": {"/things/{id}": {"get": {}}}},
        "b": {"paths": {"/things/{thingId}": {"delete": {"security": [{"bearerAuth": []}]}}}},
    }
    table = build_route_table(docs)
    assert table.resolve("GET", "/things/1").service == "a"
    assert table.resolve("DELETE", "/things/1").service == "b"
    assert table.resolve("PUT", "/things/1") == MethodNotAllowed("DELETE, GET, HEAD")


def test_the_same_operation_in_two_contracts_is_refused() -> None:
    docs = {
        "a": {"paths": {"/things/{id}": {"get": {}}}},
        "b": {"paths": {"/things/{thingId}": {"get": {}}}},
    }
    with pytest.raises(RouteTableError, match="GET /things/"):
        build_route_table(docs)


@pytest.mark.parametrize(
    ("operation", "document", "public"),
    [
        ({}, {}, True),
        ({"security": []}, {}, True),
        ({"security": [{"bearerAuth": []}]}, {}, False),
        ({}, {"security": [{"bearerAuth": []}]}, False),
        ({"security": []}, {"security": [{"bearerAuth": []}]}, True),
        ({"security": [{"bearerAuth": []}, {}]}, {}, True),
    ],
)
def test_public_means_no_effective_security_requirement(
    operation: dict[str, Any], document: dict[str, Any], public: bool
) -> None:
    assert is_public(operation, document) is public


def test_loading_needs_a_url_for_every_routed_service(contracts_dir: Path) -> None:
    with pytest.raises(RouteTableError, match="ORDERS_URL"):
        load_route_table(contracts_dir, ["products"])
    # payments has nothing routable, so it needs no URL.
    table = load_route_table(contracts_dir, ["products", "orders"])
    assert table.services == {"products", "orders"}
    assert len(table) > 0


def test_loading_refuses_an_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RouteTableError, match=r"no <service>\.json"):
        load_route_table(tmp_path, ["products"])
    with pytest.raises(RouteTableError, match="not a folder"):
        load_route_table(tmp_path / "missing", ["products"])


def test_loading_refuses_a_broken_contract(tmp_path: Path) -> None:
    (tmp_path / "products.json").write_text("{not json")
    with pytest.raises(RouteTableError, match=r"products\.json is not valid JSON"):
        load_route_table(tmp_path, ["products"])
