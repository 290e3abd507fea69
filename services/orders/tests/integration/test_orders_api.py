"""POST/GET /orders through the real app on a real PostgreSQL (products and payments faked
behind our ports): placement, reads, listing, and every bad input writing nothing."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bazaar_orders.bootstrap import create_app
from bazaar_orders.settings import Settings
from chassis.testing import InMemoryBroker, TestTokens

pytestmark = pytest.mark.integration

PROBLEMS = "https://bazaar.dev/problems"
ALICE = uuid.UUID("00000000-0000-4000-8000-00000000a11c")
BOB = uuid.UUID("00000000-0000-4000-8000-000000000b0b")


def _items(*lines: tuple[uuid.UUID, int]) -> dict[str, Any]:
    return {"items": [{"productId": str(p), "quantity": q} for p, q in lines]}


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_place_then_get_then_list(
    api: httpx.AsyncClient, tokens: TestTokens, catalog: Any, inventory: Any, db: AsyncEngine
) -> None:
    mug, pen = catalog.add("19.99"), catalog.add("0.10")
    inventory.stock_up(mug, 10)
    inventory.stock_up(pen, 10)
    alice = tokens.headers(ALICE)

    placed = await api.post("/orders", json=_items((mug, 3), (pen, 7)), headers=alice)

    assert placed.status_code == 202, placed.text
    order = placed.json()
    assert placed.headers["location"] == f"/orders/{order['orderId']}"
    assert "idempotent-replayed" not in placed.headers
    assert order["customerId"] == str(ALICE)
    assert order["status"] == "PENDING"
    assert order["rejectionReason"] is None
    assert order["totalAmount"] == "60.67"
    assert order["currency"] == "USD"
    assert order["items"] == [
        {"productId": str(mug), "quantity": 3, "unitPrice": "19.99", "lineTotal": "59.97"},
        {"productId": str(pen), "quantity": 7, "unitPrice": "0.10", "lineTotal": "0.70"},
    ]
    assert datetime.fromisoformat(order["createdAt"]).utcoffset() is not None
    assert inventory.reservations == {}  # the saga reserves, after the answer

    fetched = await api.get(placed.headers["location"], headers=alice)
    assert fetched.status_code == 200
    assert fetched.json() == order

    listed = await api.get("/orders", headers=alice)
    assert listed.status_code == 200
    assert listed.json() == {"items": [order], "nextCursor": None}

    async with db.connect() as conn:
        row = (await conn.execute(text("SELECT total_amount, status, currency FROM orders"))).one()
    assert tuple(row) == (Decimal("60.67"), "PENDING", "USD")


async def test_listing_is_newest_first_own_only_and_pages_by_cursor(
    api: httpx.AsyncClient, tokens: TestTokens, catalog: Any, inventory: Any
) -> None:
    mug = catalog.add("1.00")
    inventory.stock_up(mug, 100)
    placed: list[str] = []
    for quantity in range(1, 6):
        response = await api.post(
            "/orders", json=_items((mug, quantity)), headers=tokens.headers(ALICE)
        )
        placed.append(response.json()["orderId"])
    bobs = await api.post("/orders", json=_items((mug, 1)), headers=tokens.headers(BOB))
    assert bobs.status_code == 202

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = await api.get("/orders", params=params, headers=tokens.headers(ALICE))
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [o["orderId"] for o in body["items"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert seen == list(reversed(placed))
    assert pages == 3
    assert bobs.json()["orderId"] not in seen


async def test_another_customers_order_is_not_found_like_a_missing_one(
    api: httpx.AsyncClient, tokens: TestTokens, catalog: Any, inventory: Any
) -> None:
    mug = catalog.add("1.00")
    inventory.stock_up(mug, 1)
    placed = await api.post("/orders", json=_items((mug, 1)), headers=tokens.headers(ALICE))
    order_id = placed.json()["orderId"]

    theirs = await api.get(f"/orders/{order_id}", headers=tokens.headers(BOB))
    missing = await api.get(f"/orders/{uuid.uuid4()}", headers=tokens.headers(BOB))

    theirs_body, missing_body = _assert_problem(theirs, 404), _assert_problem(missing, 404)
    assert theirs_body["type"] == missing_body["type"] == f"{PROBLEMS}/order-not-found"
    assert theirs_body["detail"] == missing_body["detail"]
    bobs_list = await api.get("/orders", headers=tokens.headers(BOB))
    assert bobs_list.json() == {"items": [], "nextCursor": None}


async def test_orders_need_a_bearer_token(api: httpx.AsyncClient, catalog: Any) -> None:
    mug = catalog.add("1.00")
    for response in (
        await api.post("/orders", json=_items((mug, 1))),
        await api.get("/orders"),
        await api.get(f"/orders/{uuid.uuid4()}"),
        await api.post(f"/orders/{uuid.uuid4()}/cancel"),
        await api.get("/orders", headers={"Authorization": "Bearer not-a-token"}),
    ):
        _assert_problem(response, 401)


def _bad_bodies(product: uuid.UUID) -> list[Any]:
    one = {"productId": str(product), "quantity": 1}
    return [
        pytest.param({"items": [one | {"quantity": 0}]}, "items.0.quantity", id="quantity-0"),
        pytest.param({"items": [one | {"quantity": 101}]}, "items.0.quantity", id="quantity-101"),
        pytest.param({"items": [one | {"quantity": "2"}]}, "items.0.quantity", id="quantity-text"),
        pytest.param({"items": [one | {"quantity": 1.5}]}, "items.0.quantity", id="quantity-1.5"),
        pytest.param(
            {"items": [{"productId": str(uuid.uuid4()), "quantity": 1} for _ in range(51)]},
            "items",
            id="51-lines",
        ),
        pytest.param({"items": []}, "items", id="0-lines"),
        pytest.param({}, "items", id="no-items"),
        pytest.param({"items": [one | {"unitPrice": "0.01"}]}, "items.0.unitPrice", id="price"),
        pytest.param({"items": [one], "totalAmount": "0.01"}, "totalAmount", id="unknown-field"),
        pytest.param({"items": [one | {"productId": "mug"}]}, "items.0.productId", id="bad-id"),
        pytest.param({"items": [one], "paymentToken": ""}, "paymentToken", id="token-empty"),
        pytest.param({"items": [one], "paymentToken": "t" * 65}, "paymentToken", id="token-65"),
        pytest.param(
            {"items": [one], "paymentToken": "4111 1111"}, "paymentToken", id="token-chars"
        ),
        pytest.param({"items": [one], "paymentToken": 42}, "paymentToken", id="token-number"),
    ]


@pytest.mark.parametrize(("body", "field"), _bad_bodies(uuid.uuid4()))
async def test_invalid_bodies_are_422_naming_the_field_and_write_nothing(
    api: httpx.AsyncClient,
    tokens: TestTokens,
    count_rows: Any,
    nothing_written: dict[str, int],
    body: dict[str, Any],
    field: str,
) -> None:
    response = await api.post("/orders", json=body, headers=tokens.headers(ALICE))

    problem = _assert_problem(response, 422)
    assert field in [error["field"] for error in problem["errors"]]
    assert await count_rows() == nothing_written


async def test_malformed_json_is_400_and_writes_nothing(
    api: httpx.AsyncClient, tokens: TestTokens, count_rows: Any, nothing_written: dict[str, int]
) -> None:
    response = await api.post(
        "/orders",
        content=b'{"items": [',
        headers=tokens.headers(ALICE) | {"content-type": "application/json"},
    )

    assert _assert_problem(response, 400)["title"] == "Malformed JSON"
    assert await count_rows() == nothing_written


async def test_duplicate_products_are_named(
    api: httpx.AsyncClient,
    tokens: TestTokens,
    catalog: Any,
    count_rows: Any,
    nothing_written: dict[str, int],
) -> None:
    mug, pen = catalog.add("1.00"), catalog.add("2.00")

    response = await api.post(
        "/orders", json=_items((mug, 1), (pen, 1), (mug, 2)), headers=tokens.headers(ALICE)
    )

    problem = _assert_problem(response, 422)
    assert problem["type"] == f"{PROBLEMS}/duplicate-product"
    assert problem["productIds"] == [str(mug)]
    assert await count_rows() == nothing_written


async def test_unknown_products_are_named_and_nothing_is_written(
    api: httpx.AsyncClient,
    tokens: TestTokens,
    catalog: Any,
    count_rows: Any,
    nothing_written: dict[str, int],
) -> None:
    mug = catalog.add("1.00")
    ghost = uuid.uuid4()

    response = await api.post(
        "/orders", json=_items((mug, 1), (ghost, 1)), headers=tokens.headers(ALICE)
    )

    problem = _assert_problem(response, 422)
    assert problem["type"] == f"{PROBLEMS}/unknown-product"
    assert problem["productIds"] == [str(ghost)]
    assert str(ghost) in problem["detail"]
    assert await count_rows() == nothing_written


async def test_products_unavailable_is_503_with_retry_after_and_nothing_is_kept(
    api: httpx.AsyncClient,
    tokens: TestTokens,
    catalog: Any,
    count_rows: Any,
    nothing_written: dict[str, int],
) -> None:
    mug = catalog.add("1.00")
    catalog.unavailable = True

    response = await api.post("/orders", json=_items((mug, 1)), headers=tokens.headers(ALICE))

    problem = _assert_problem(response, 503)
    assert problem["type"] == f"{PROBLEMS}/dependency-unavailable"
    assert int(response.headers["retry-after"]) > 0
    assert await count_rows() == nothing_written


@pytest.mark.parametrize(
    ("params", "status"),
    [({"cursor": "garbage!"}, 400), ({"limit": "0"}, 422), ({"limit": "101"}, 422)],
    ids=["bad-cursor", "limit-0", "limit-101"],
)
async def test_bad_listing_parameters_are_problems(
    api: httpx.AsyncClient, tokens: TestTokens, params: dict[str, str], status: int
) -> None:
    response = await api.get("/orders", params=params, headers=tokens.headers(ALICE))
    _assert_problem(response, status)


async def test_ready_once_migrated(api: httpx.AsyncClient) -> None:
    response = await api.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}


async def test_a_failed_store_writes_nothing(
    api: httpx.AsyncClient,
    tokens: TestTokens,
    catalog: Any,
    inventory: Any,
    db: AsyncEngine,
    count_rows: Any,
    nothing_written: dict[str, int],
) -> None:
    mug, pen = catalog.add("1.00"), catalog.add("2.00")
    # The second item insert fails after the order row went in: only one transaction for the
    # order, its items, its saga, its event and its key leaves nothing behind.
    async with db.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION refuse_pens() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.product_id = '{pen}' THEN RAISE EXCEPTION 'disk full'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER refuse_pens BEFORE INSERT ON order_items "
                "FOR EACH ROW EXECUTE FUNCTION refuse_pens()"
            )
        )

    response = await api.post(
        "/orders",
        json=_items((mug, 2), (pen, 1)),
        headers=tokens.headers(ALICE) | {"Idempotency-Key": "k"},
    )

    problem = _assert_problem(response, 503)
    assert problem["type"] == f"{PROBLEMS}/dependency-unavailable"
    assert "disk full" not in response.text  # no internals leak
    assert await count_rows() == nothing_written
    assert inventory.reserve_calls == []


async def test_the_real_products_adapters_turn_connection_refused_into_503(
    settings: Settings,
    refused_url: str,
    tokens: TestTokens,
    count_rows: Any,
    nothing_written: dict[str, int],
) -> None:
    app = create_app(
        settings.model_copy(update={"products_url": refused_url}),
        broker=InMemoryBroker(),
        token_verifier=tokens.verifier,
        start_background=False,
    )
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://o") as client,
    ):
        response = await client.post(
            "/orders", json=_items((uuid.uuid4(), 1)), headers=tokens.headers(ALICE)
        )

    problem = _assert_problem(response, 503)
    assert problem["type"] == f"{PROBLEMS}/dependency-unavailable"
    assert response.headers["retry-after"]
    assert await count_rows() == nothing_written
