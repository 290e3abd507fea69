"""The internal reservation API on PostgreSQL: atomicity, idempotency, release, concurrency."""

from __future__ import annotations

import asyncio
import uuid

import pytest

pytestmark = pytest.mark.integration

PROBLEMS = "https://bazaar.dev/problems/"


async def _inventory(client, product: dict) -> int:
    response = await client.get(f"/products/{product['productId']}")
    assert response.status_code == 200
    inventory: int = response.json()["inventory"]
    return inventory


def _reservation(order_id: uuid.UUID, *lines: tuple[dict, int]) -> dict:
    return {
        "orderId": str(order_id),
        "items": [{"productId": p["productId"], "quantity": q} for p, q in lines],
    }


async def test_reserve_takes_every_line(client, create_product) -> None:
    mug, pen = await create_product("Mug", inventory=5), await create_product("Pen", inventory=2)
    order = uuid.uuid4()
    response = await client.post(
        "/internal/reservations", json=_reservation(order, (mug, 2), (pen, 2))
    )
    assert response.status_code == 201
    body = response.json()
    assert body["orderId"] == str(order)
    assert body["status"] == "RESERVED"
    assert sorted(body["items"], key=lambda i: i["productId"]) == sorted(
        [
            {"productId": mug["productId"], "quantity": 2},
            {"productId": pen["productId"], "quantity": 2},
        ],
        key=lambda i: i["productId"],
    )
    assert (await _inventory(client, mug), await _inventory(client, pen)) == (3, 0)
    assert (await client.get(f"/internal/reservations/{order}")).json() == body


async def test_one_short_line_rolls_back_every_line(client, create_product) -> None:
    plenty = await create_product("Plenty", inventory=10)
    scarce = await create_product("Scarce", inventory=1)
    order = uuid.uuid4()
    response = await client.post(
        "/internal/reservations", json=_reservation(order, (plenty, 3), (scarce, 2))
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == PROBLEMS + "insufficient-stock"
    assert problem["productIds"] == [scarce["productId"]]
    assert (await _inventory(client, plenty), await _inventory(client, scarce)) == (10, 1)
    assert (await client.get(f"/internal/reservations/{order}")).status_code == 404


async def test_unknown_product_is_422_and_takes_nothing(client, create_product) -> None:
    known = await create_product("Known", inventory=4)
    unknown = {"productId": str(uuid.uuid4())}
    order = uuid.uuid4()
    response = await client.post(
        "/internal/reservations", json=_reservation(order, (known, 1), (unknown, 1))
    )
    assert response.status_code == 422
    assert response.json()["type"] == PROBLEMS + "unknown-product"
    assert response.json()["productIds"] == [unknown["productId"]]
    assert await _inventory(client, known) == 4
    assert (await client.get(f"/internal/reservations/{order}")).status_code == 404


async def test_repeat_is_200_and_takes_stock_once(client, create_product) -> None:
    mug = await create_product("Mug", inventory=5)
    body = _reservation(uuid.uuid4(), (mug, 2))
    first = await client.post("/internal/reservations", json=body)
    again = await client.post("/internal/reservations", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert await _inventory(client, mug) == 3


async def test_identical_concurrent_requests_take_stock_once(client, create_product) -> None:
    mug = await create_product("Mug", inventory=50)
    body = _reservation(uuid.uuid4(), (mug, 3))
    responses = await asyncio.gather(
        *(client.post("/internal/reservations", json=body) for _ in range(8))
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.text for r in responses}) == 1
    assert await _inventory(client, mug) == 47


async def test_repeat_with_other_items_is_a_mismatch(client, create_product) -> None:
    mug = await create_product("Mug", inventory=5)
    order = uuid.uuid4()
    assert (
        await client.post("/internal/reservations", json=_reservation(order, (mug, 2)))
    ).status_code == 201
    response = await client.post("/internal/reservations", json=_reservation(order, (mug, 1)))
    assert response.status_code == 409
    assert response.json()["type"] == PROBLEMS + "reservation-mismatch"
    assert await _inventory(client, mug) == 3


async def test_release_restores_once(client, create_product) -> None:
    mug, pen = await create_product("Mug", inventory=5), await create_product("Pen", inventory=5)
    order = uuid.uuid4()
    await client.post("/internal/reservations", json=_reservation(order, (mug, 2), (pen, 5)))

    first = await client.post(f"/internal/reservations/{order}/release")
    again = await client.post(f"/internal/reservations/{order}/release")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == "RELEASED"
    assert len(first.json()["items"]) == 2
    assert again.json() == first.json()
    assert (await _inventory(client, mug), await _inventory(client, pen)) == (5, 5)
    late = await client.post("/internal/reservations", json=_reservation(order, (mug, 2), (pen, 5)))
    assert late.status_code == 409
    assert late.json()["type"] == PROBLEMS + "reservation-released"
    assert await _inventory(client, mug) == 5


async def test_concurrent_releases_restore_once(client, create_product) -> None:
    mug = await create_product("Mug", inventory=5)
    order = uuid.uuid4()
    await client.post("/internal/reservations", json=_reservation(order, (mug, 4)))
    responses = await asyncio.gather(
        *(client.post(f"/internal/reservations/{order}/release") for _ in range(6))
    )
    assert {r.status_code for r in responses} == {200}
    assert await _inventory(client, mug) == 5


async def test_tombstone_blocks_a_late_reservation(client, create_product) -> None:
    mug = await create_product("Mug", inventory=5)
    order = uuid.uuid4()
    released = await client.post(f"/internal/reservations/{order}/release")
    assert released.status_code == 200
    assert released.json() == {"orderId": str(order), "status": "RELEASED", "items": []}

    late = await client.post("/internal/reservations", json=_reservation(order, (mug, 1)))

    assert late.status_code == 409
    assert late.json()["type"] == PROBLEMS + "reservation-released"
    assert await _inventory(client, mug) == 5


async def test_unknown_reservation_is_404(client) -> None:
    response = await client.get(f"/internal/reservations/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["type"] == PROBLEMS + "reservation-not-found"


@pytest.mark.parametrize(
    ("items", "field"),
    [
        pytest.param([], "items", id="no lines"),
        pytest.param([{"quantity": 1}] * 51, "items", id="51 lines"),
        pytest.param([{"quantity": 0}], "items.0.quantity", id="zero"),
        pytest.param([{"quantity": 101}], "items.0.quantity", id="101"),
        pytest.param([{"quantity": 1.5}], "items.0.quantity", id="fraction"),
        pytest.param([{"quantity": 1}, {"quantity": 1, "same": True}], "items", id="duplicate"),
    ],
)
async def test_invalid_reservations_are_422(client, create_product, items, field) -> None:
    mug = await create_product("Mug", inventory=500)
    lines = [
        {"productId": mug["productId"] if i == 0 or item.get("same") else str(uuid.uuid4()),
         "quantity": item["quantity"]}
        for i, item in enumerate(items)
    ]  # fmt: skip
    order = uuid.uuid4()
    response = await client.post(
        "/internal/reservations", json={"orderId": str(order), "items": lines}
    )
    assert response.status_code == 422
    assert any(e["field"] == field for e in response.json()["errors"]), response.json()
    assert await _inventory(client, mug) == 500
    assert (await client.get(f"/internal/reservations/{order}")).status_code == 404


async def test_fifty_buyers_for_ten_items(client, create_product) -> None:
    product = await create_product("Limited edition", inventory=10)
    responses = await asyncio.gather(
        *(
            client.post("/internal/reservations", json=_reservation(uuid.uuid4(), (product, 1)))
            for _ in range(50)
        )
    )
    codes = [r.status_code for r in responses]
    assert codes.count(201) == 10
    assert codes.count(409) == 40
    assert all(
        r.json()["type"] == PROBLEMS + "insufficient-stock"
        for r in responses
        if r.status_code == 409
    )
    assert await _inventory(client, product) == 0


async def test_crossing_multi_line_reservations_do_not_deadlock(client, create_product) -> None:
    a = await create_product("A", inventory=100)
    b = await create_product("B", inventory=100)
    requests = [
        _reservation(uuid.uuid4(), (a, 1), (b, 1))
        if i % 2
        else _reservation(uuid.uuid4(), (b, 1), (a, 1))
        for i in range(40)
    ]
    responses = await asyncio.gather(
        *(client.post("/internal/reservations", json=r) for r in requests)
    )
    assert [r.status_code for r in responses] == [201] * 40
    assert (await _inventory(client, a), await _inventory(client, b)) == (60, 60)
