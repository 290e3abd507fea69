"""The catalog over HTTP on PostgreSQL: listing, lookups and admin writes with their errors."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"


async def _all_products(client) -> list[dict]:
    response = await client.get("/products", params={"limit": 100})
    assert response.status_code == 200
    return response.json()["items"]


async def test_listing_pages_through_every_product_once(client, create_product) -> None:
    created = [await create_product(f"Item {i % 4}") for i in range(11)]
    seen: list[dict] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/products", params=params)
        assert response.status_code == 200
        body = response.json()
        assert len(body["items"]) <= 4
        seen.extend(body["items"])
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == 11
    assert {p["productId"] for p in seen} == {p["productId"] for p in created}
    keys = [(p["name"], p["productId"]) for p in seen]
    assert keys == sorted(keys)


async def test_product_json_shape(client, create_product) -> None:
    product = await create_product("Mug", price="19.9", inventory=7, description="Blue")
    response = await client.get(f"/products/{product['productId']}")
    assert response.status_code == 200
    body = response.json()
    assert body == product
    assert set(body) == {
        "productId", "sku", "name", "description", "price", "currency", "inventory",
        "createdAt", "updatedAt",
    }  # fmt: skip
    assert (body["price"], body["currency"], body["inventory"]) == ("19.90", "USD", 7)
    assert body["createdAt"].endswith(("Z", "+00:00"))


async def test_ids_filter_returns_just_the_existing_ones(client, create_product) -> None:
    a, _, c = [await create_product(n) for n in ("Alpha", "Beta", "Gamma")]
    ids = f"{c['productId']}, {uuid.uuid4()},{a['productId']}"
    response = await client.get("/products", params={"ids": ids, "limit": 1})
    assert response.status_code == 200
    body = response.json()
    assert [p["name"] for p in body["items"]] == ["Alpha", "Gamma"]
    assert body["nextCursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"ids": "not-a-uuid"}, "ids", id="malformed id"),
        pytest.param({"ids": ""}, "ids", id="empty ids"),
        pytest.param({"ids": ",".join(str(uuid.uuid4()) for _ in range(101))}, "ids", id="101"),
        pytest.param({"ids": str(uuid.uuid4()), "cursor": "abc"}, "cursor", id="ids+cursor"),
        pytest.param({"cursor": "garbage!"}, "cursor", id="bad cursor"),
        pytest.param({"limit": 0}, "query.limit", id="limit 0"),
        pytest.param({"limit": 101}, "query.limit", id="limit 101"),
    ],
)
async def test_bad_listing_queries_are_named(client, params, field) -> None:
    response = await client.get("/products", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_get_unknown_and_malformed_product(client) -> None:
    missing = await client.get(f"/products/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["type"] == "https://bazaar.dev/problems/product-not-found"
    malformed = await client.get("/products/not-a-uuid")
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "path.productId"


async def test_create_answers_201_with_location(client, admin_headers) -> None:
    body = {"sku": "MUG-01", "name": "Mug", "price": "12.50", "inventory": 4}
    response = await client.post("/products", json=body, headers=admin_headers)
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/products/{created['productId']}"
    assert (created["description"], created["price"]) == ("", "12.50")
    fetched = await client.get(response.headers["location"])
    assert fetched.json() == created


async def test_create_accepts_json_numbers_exactly(client, admin_headers) -> None:
    body = {"sku": "NUM-1", "name": "Numbered", "price": 19.99, "inventory": 1}
    response = await client.post("/products", json=body, headers=admin_headers)
    assert response.status_code == 201
    assert response.json()["price"] == "19.99"
    # json.loads would round this to 20.0; parsed exactly, it has too many decimals.
    raw = b'{"sku": "NUM-2", "name": "Rounded", "price": 19.999999999999999999, "inventory": 1}'
    response = await client.post(
        "/products",
        content=raw,
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "2 decimal places" in response.json()["detail"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [pytest.param({}, 401, id="no token"), pytest.param("customer", 403, id="no admin role")],
)
async def test_writes_need_an_admin(client, tokens, create_product, headers, status) -> None:
    if headers == "customer":
        headers = tokens.headers(roles=["customer"])
    product = await create_product("Mug", inventory=3)
    body = {"sku": "NEW-1", "name": "New", "price": "1.00", "inventory": 1}
    created = await client.post("/products", json=body, headers=headers)
    patched = await client.patch(
        f"/products/{product['productId']}", json={"inventory": 99}, headers=headers
    )
    assert (created.status_code, patched.status_code) == (status, status)
    assert created.headers["content-type"].startswith(PROBLEM_JSON)
    assert [p["sku"] for p in await _all_products(client)] == [product["sku"]]
    assert (await client.get(f"/products/{product['productId']}")).json() == product


async def test_duplicate_sku_is_409_and_writes_nothing(client, admin_headers, create_product):
    original = await create_product("Original", sku="DUP-1")
    body = {"sku": "DUP-1", "name": "Copy", "price": "3.00", "inventory": 1}
    response = await client.post("/products", json=body, headers=admin_headers)
    assert response.status_code == 409
    assert response.json()["type"] == "https://bazaar.dev/problems/duplicate-sku"
    assert await _all_products(client) == [original]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "0"}, "price"),
        ({"price": "-1.00"}, "price"),
        ({"price": "1.001"}, "price"),
        ({"price": "100000000"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": True}, "price"),
        ({"inventory": -1}, "inventory"),
        ({"inventory": 1_000_001}, "inventory"),
        ({"inventory": 2.5}, "inventory"),
        ({"inventory": "5"}, "inventory"),
        ({"sku": "has space"}, "sku"),
        ({"sku": ""}, "sku"),
        ({"sku": "x" * 65}, "sku"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_create_is_422_naming_the_field(client, admin_headers, change, field):
    body = {"sku": "OK-1", "name": "Fine", "price": "5.00", "inventory": 1} | change
    response = await client.post("/products", json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert any(e["field"].startswith(field) for e in response.json()["errors"])
    assert await _all_products(client) == []


async def test_patch_changes_only_given_fields(client, admin_headers, create_product) -> None:
    product = await create_product("Mug", price="5.00", inventory=3, description="Old")
    response = await client.patch(
        f"/products/{product['productId']}",
        json={"price": "6.5", "description": "New"},
        headers=admin_headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["price"], body["description"]) == ("6.50", "New")
    assert (body["name"], body["inventory"], body["sku"]) == ("Mug", 3, product["sku"])
    assert body["updatedAt"] >= product["updatedAt"]
    assert (await client.get(f"/products/{product['productId']}")).json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, None, id="empty"),
        pytest.param({"name": None}, "name", id="null name"),
        pytest.param({"sku": "NEW"}, "sku", id="sku not patchable"),
        pytest.param({"price": "0.001"}, "price", id="bad price"),
        pytest.param({"inventory": 5, "name": ""}, "name", id="one bad field"),
    ],
)
async def test_invalid_patch_writes_nothing(client, admin_headers, create_product, body, field):
    product = await create_product("Mug", inventory=3)
    response = await client.patch(
        f"/products/{product['productId']}", json=body, headers=admin_headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    if field is None:
        assert problem["type"] == "https://bazaar.dev/problems/nothing-to-change"
    else:
        assert [e["field"] for e in problem["errors"]] == [field]
    assert (await client.get(f"/products/{product['productId']}")).json() == product


async def test_patch_of_unknown_product_is_404(client, admin_headers) -> None:
    response = await client.patch(
        f"/products/{uuid.uuid4()}", json={"inventory": 1}, headers=admin_headers
    )
    assert response.status_code == 404
    assert await _all_products(client) == []
