"""The walkthrough and its bad paths, driven only through the gateway."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest

from chassis import PROBLEM_JSON, TokenSigner

pytestmark = pytest.mark.system


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


def test_register_token_list_order_read_list(gateway: httpx.Client, register, driver) -> None:  # type: ignore[no-untyped-def]
    me = register()
    assert gateway.get(f"/users/{me.user_id}", headers=me.headers).json()["email"] == me.email

    page = gateway.get("/products", params={"limit": 5})
    assert page.status_code == 200
    products = page.json()["items"]
    assert len(products) == 5
    assert page.json()["nextCursor"]
    first, second = products[0], products[1]

    placed = gateway.post(
        "/orders",
        json={"items": [
            {"productId": first["productId"], "quantity": 3},
            {"productId": second["productId"], "quantity": 1},
        ]},
        headers=me.headers,
    )  # fmt: skip
    assert placed.status_code == 202, placed.text
    order = placed.json()
    assert order["status"] == "PENDING"
    expected = Decimal(first["price"]) * 3 + Decimal(second["price"])
    assert Decimal(order["totalAmount"]) == expected
    assert placed.headers["location"] == f"/orders/{order['orderId']}"

    order = asyncio.run(driver.wait_terminal([(me, order["orderId"])]))[order["orderId"]]
    assert order["status"] == "CONFIRMED"
    read = gateway.get(placed.headers["location"], headers=me.headers)
    assert read.status_code == 200
    assert read.json() == order

    mine = gateway.get("/orders", headers=me.headers).json()
    assert [o["orderId"] for o in mine["items"]] == [order["orderId"]]

    after = gateway.get(f"/products/{first['productId']}").json()
    assert after["inventory"] == first["inventory"] - 3


def test_missing_expired_and_tampered_tokens_are_401(
    gateway: httpx.Client, shopper, signer: TokenSigner
) -> None:
    expired = signer.issue(shopper.user_id, ttl_seconds=-120)
    header, _payload, signature = shopper.token.split(".")
    someone_else = signer.issue(str(uuid.uuid4())).split(".")[1]
    for authorization in (
        None,
        f"Bearer {expired}",
        f"Bearer {header}.{someone_else}.{signature}",
        f"Bearer {shopper.token[:-4]}AAAA",
        "Basic c2hvcHBlcjpwYXNzd29yZA==",
    ):
        headers = {"authorization": authorization} if authorization else {}
        for path in ("/orders", f"/users/{shopper.user_id}"):
            body = problem(gateway.get(path, headers=headers), 401)
            assert body["detail"]


def test_another_users_order_and_profile_are_404(
    gateway: httpx.Client, shopper, make_product, register
) -> None:  # type: ignore[no-untyped-def]
    product = make_product(inventory=5)
    order = gateway.post(
        "/orders", json={"items": [{"productId": product, "quantity": 1}]}, headers=shopper.headers
    ).json()
    stranger = register()
    problem(gateway.get(f"/orders/{order['orderId']}", headers=stranger.headers), 404)
    problem(gateway.get(f"/users/{shopper.user_id}", headers=stranger.headers), 404)
    assert gateway.get("/orders", headers=stranger.headers).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        (b'{"items": [', 400, "JSON"),
        ({"items": [{"productId": "PRODUCT", "quantity": 1}], "total": "0.01"}, 422, "total"),
        (
            {"items": [{"productId": "PRODUCT", "quantity": 1, "unitPrice": "0.01"}]},
            422,
            "unitPrice",
        ),
        ({"items": [{"productId": "PRODUCT", "quantity": 0}]}, 422, "quantity"),
        ({"items": [{"productId": "PRODUCT", "quantity": 101}]}, 422, "quantity"),
        ({"items": [{"productId": "PRODUCT", "quantity": 1}] * 51}, 422, "items"),
        ({"items": []}, 422, "items"),
        ({"items": [{"productId": "UNKNOWN", "quantity": 1}]}, 422, "UNKNOWN"),
        ({"items": [{"productId": "not-a-uuid", "quantity": 1}]}, 422, "productId"),
    ],
)
def test_bad_order_input_is_a_named_problem_and_writes_nothing(
    gateway: httpx.Client, shopper, make_product, body: object, status: int, names: str
) -> None:  # type: ignore[no-untyped-def]
    product = make_product(inventory=7)
    unknown = str(uuid.uuid4())
    if isinstance(body, bytes):
        response = gateway.post(
            "/orders", content=body,
            headers={**shopper.headers, "content-type": "application/json"},
        )  # fmt: skip
    else:
        text = httpx.Request("POST", "/", json=body).content.decode()
        text = text.replace("PRODUCT", product).replace("UNKNOWN", unknown)
        response = gateway.post(
            "/orders", content=text,
            headers={**shopper.headers, "content-type": "application/json"},
        )  # fmt: skip
    detail = problem(response, status)
    assert names.replace("UNKNOWN", unknown) in str(detail)
    assert gateway.get("/orders", headers=shopper.headers).json()["items"] == []
    assert gateway.get(f"/products/{product}").json()["inventory"] == 7


def test_insufficient_stock_rejects_the_order_and_leaves_inventory_unchanged(
    gateway: httpx.Client, shopper, make_product, driver
) -> None:  # type: ignore[no-untyped-def]
    plenty, scarce = make_product(inventory=50), make_product(inventory=2)
    placed = gateway.post(
        "/orders",
        json={"items": [
            {"productId": plenty, "quantity": 5},
            {"productId": scarce, "quantity": 3},
        ]},
        headers=shopper.headers,
    )  # fmt: skip
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["orderId"]
    order = asyncio.run(driver.wait_terminal([(shopper, order_id)]))[order_id]
    assert (order["status"], order["rejectionReason"]) == ("REJECTED", "out_of_stock")
    # All or nothing: the line that had stock was not held either.
    assert gateway.get(f"/products/{plenty}").json()["inventory"] == 50
    assert gateway.get(f"/products/{scarce}").json()["inventory"] == 2


def test_duplicate_email_in_any_case_is_409(gateway: httpx.Client, shopper) -> None:
    again = gateway.post(
        "/users", json={"email": shopper.email.upper(), "password": "another long password"}
    )
    problem(again, 409)


def test_internal_endpoints_are_not_routed(gateway: httpx.Client, shopper) -> None:
    reservation = {"orderId": str(uuid.uuid4()), "items": []}
    problem(gateway.post("/internal/reservations", json=reservation, headers=shopper.headers), 404)


def test_request_id_crosses_the_gateway(gateway: httpx.Client) -> None:
    response = gateway.get("/products", params={"limit": 1}, headers={"x-request-id": "trace-me-1"})
    assert response.headers["x-request-id"] == "trace-me-1"
