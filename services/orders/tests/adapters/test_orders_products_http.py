"""The HTTP Catalog/Inventory adapters against a tiny in-test server speaking the products contract.

Checks what the adapters send and how they read every answer the contract allows (and some it
does not), including the problem bodies and "nobody is listening".
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from bazaar_orders.adapters.products_http import HttpCatalog, HttpInventory
from bazaar_orders.domain import (
    DependencyContractError,
    DependencyUnavailable,
    InsufficientStock,
    Price,
    RequestedLine,
    UnknownProducts,
)
from chassis import ServiceClient

PROBLEMS = "https://bazaar.dev/problems"


def _problem(status: int, kind: str, **extensions: Any) -> web.Response:
    body = {"type": f"{PROBLEMS}/{kind}", "title": kind, "status": status, **extensions}
    return web.json_response(body, status=status, content_type="application/problem+json")


@dataclass
class FakeProducts:
    """Just enough of the products service: a catalog with stock and reservations."""

    products: dict[uuid.UUID, tuple[str, int]] = field(default_factory=dict)
    reservations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    released: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    # When set, every request gets this answer instead (to test odd or failing upstreams).
    override: web.Response | None = None
    hang: asyncio.Event | None = None
    extra_items: list[dict[str, Any]] = field(default_factory=list)

    async def _record(self, request: web.Request) -> web.Response | None:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, dict(request.query), body))
        if self.hang is not None:
            await self.hang.wait()
        return self.override

    async def list_products(self, request: web.Request) -> web.Response:
        if (answer := await self._record(request)) is not None:
            return answer
        ids = [uuid.UUID(i) for i in request.query["ids"].split(",")]
        items = [
            {
                "productId": str(p),
                "sku": f"SKU-{p.hex[:6]}",
                "name": "Thing",
                "description": "",
                "price": self.products[p][0],
                "currency": "USD",
                "inventory": self.products[p][1],
            }
            for p in ids
            if p in self.products
        ]
        return web.json_response({"items": items + self.extra_items, "nextCursor": None})

    async def reserve(self, request: web.Request) -> web.Response:
        if (answer := await self._record(request)) is not None:
            return answer
        body = await request.json()
        order_id, items = body["orderId"], body["items"]
        if order_id in self.released:
            return _problem(409, "reservation-released")
        if order_id in self.reservations:
            if self.reservations[order_id] != items:
                return _problem(409, "reservation-mismatch")
            return web.json_response({"orderId": order_id, "status": "RESERVED", "items": items})
        unknown = [i["productId"] for i in items if uuid.UUID(i["productId"]) not in self.products]
        if unknown:
            return _problem(422, "unknown-product", productIds=unknown)
        short = [
            i["productId"]
            for i in items
            if self.products[uuid.UUID(i["productId"])][1] < i["quantity"]
        ]
        if short:
            return _problem(409, "insufficient-stock", productIds=short)
        for i in items:
            price, stock = self.products[uuid.UUID(i["productId"])]
            self.products[uuid.UUID(i["productId"])] = (price, stock - i["quantity"])
        self.reservations[order_id] = items
        body = {"orderId": order_id, "status": "RESERVED", "items": items}
        return web.json_response(body, status=201)

    async def release(self, request: web.Request) -> web.Response:
        if (answer := await self._record(request)) is not None:
            return answer
        order_id = request.match_info["order_id"]
        for i in self.reservations.pop(order_id, []):
            price, stock = self.products[uuid.UUID(i["productId"])]
            self.products[uuid.UUID(i["productId"])] = (price, stock + i["quantity"])
        self.released.add(order_id)
        return web.json_response({"orderId": order_id, "status": "RELEASED", "items": []})


@pytest.fixture
def fake_products() -> FakeProducts:
    return FakeProducts()


@pytest.fixture
async def products_url(fake_products: FakeProducts, serve: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/products", fake_products.list_products)
    app.router.add_post("/internal/reservations", fake_products.reserve)
    app.router.add_post("/internal/reservations/{order_id}/release", fake_products.release)
    async with serve(app, lambda: fake_products.hang) as url:
        yield url


@pytest.fixture
def client(products_url: str, contract_client: Any) -> ServiceClient:
    client: ServiceClient = contract_client("products", products_url)
    return client


async def test_prices_come_from_the_catalog_and_unknown_ids_are_absent(
    fake_products: FakeProducts, client: ServiceClient
) -> None:
    mug, pen, ghost = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    fake_products.products = {mug: ("19.99", 5), pen: ("0.50", 1)}

    prices = await HttpCatalog(client).prices([mug, ghost, pen])

    assert prices == {mug: Price(Decimal("19.99"), "USD"), pen: Price(Decimal("0.50"), "USD")}
    [(method, path, query, _)] = fake_products.requests
    assert (method, path) == ("GET", "/products")
    assert query == {"ids": f"{mug},{ghost},{pen}", "limit": "100"}


async def test_products_that_were_not_asked_for_are_never_priced(
    fake_products: FakeProducts, client: ServiceClient
) -> None:
    mug, stray = uuid.uuid4(), uuid.uuid4()
    fake_products.products = {mug: ("1.00", 1)}
    fake_products.extra_items = [{"productId": str(stray), "price": "0.01", "currency": "USD"}]

    assert await HttpCatalog(client).prices([mug]) == {mug: Price(Decimal("1.00"), "USD")}


@pytest.mark.parametrize(
    "item",
    [
        {"productId": "not-a-uuid", "price": "1.00", "currency": "USD"},
        {"productId": str(uuid.uuid4()), "price": "cheap", "currency": "USD"},
        {"productId": str(uuid.uuid4()), "price": "-1.00", "currency": "USD"},
        {"productId": str(uuid.uuid4()), "price": "NaN", "currency": "USD"},
        {"productId": str(uuid.uuid4()), "currency": "USD"},
    ],
    ids=["bad-id", "bad-price", "negative-price", "nan-price", "no-price"],
)
async def test_an_unreadable_product_list_is_a_contract_error(
    fake_products: FakeProducts, client: ServiceClient, item: dict[str, Any]
) -> None:
    fake_products.extra_items = [item]

    with pytest.raises(DependencyContractError):
        await HttpCatalog(client).prices([uuid.uuid4()])


async def test_reserve_sends_the_order_and_its_lines_and_is_idempotent(
    fake_products: FakeProducts, client: ServiceClient
) -> None:
    mug = uuid.uuid4()
    fake_products.products = {mug: ("19.99", 5)}
    order_id = uuid.uuid4()
    inventory = HttpInventory(client)

    await inventory.reserve(order_id, [RequestedLine(mug, 3)])
    await inventory.reserve(order_id, [RequestedLine(mug, 3)])  # the repeat answers 200

    assert fake_products.products[mug] == ("19.99", 2)
    assert fake_products.requests[0][1] == "/internal/reservations"
    assert fake_products.requests[0][3] == {
        "orderId": str(order_id),
        "items": [{"productId": str(mug), "quantity": 3}],
    }


async def test_insufficient_stock_names_the_products_from_the_problem(
    fake_products: FakeProducts, client: ServiceClient
) -> None:
    plenty, scarce = uuid.uuid4(), uuid.uuid4()
    fake_products.products = {plenty: ("1.00", 9), scarce: ("1.00", 1)}

    with pytest.raises(InsufficientStock) as caught:
        await HttpInventory(client).reserve(
            uuid.uuid4(), [RequestedLine(plenty, 2), RequestedLine(scarce, 2)]
        )

    assert caught.value.product_ids == (scarce,)
    assert fake_products.reservations == {}


async def test_unknown_products_at_reservation_are_named_from_the_problem(
    fake_products: FakeProducts, client: ServiceClient
) -> None:
    ghost = uuid.uuid4()

    with pytest.raises(UnknownProducts) as caught:
        await HttpInventory(client).reserve(uuid.uuid4(), [RequestedLine(ghost, 1)])

    assert caught.value.product_ids == (ghost,)


async def test_release_restores_stock_and_tombstones_the_order(
    fake_products: FakeProducts, client: ServiceClient
) -> None:
    mug = uuid.uuid4()
    fake_products.products = {mug: ("1.00", 5)}
    order_id = uuid.uuid4()
    inventory = HttpInventory(client)
    await inventory.reserve(order_id, [RequestedLine(mug, 4)])

    await inventory.release(order_id)
    await inventory.release(order_id)

    assert fake_products.products[mug] == ("1.00", 5)
    assert fake_products.requests[-1][:2] == ("POST", f"/internal/reservations/{order_id}/release")
    # Reserving again for a released order is a conflict the adapter must not read as success.
    with pytest.raises(DependencyContractError, match="reservation-released"):
        await inventory.reserve(order_id, [RequestedLine(mug, 1)])


async def test_a_reservation_mismatch_is_a_contract_error(
    fake_products: FakeProducts, client: ServiceClient
) -> None:
    mug = uuid.uuid4()
    fake_products.products = {mug: ("1.00", 5)}
    order_id = uuid.uuid4()
    inventory = HttpInventory(client)
    await inventory.reserve(order_id, [RequestedLine(mug, 1)])

    with pytest.raises(DependencyContractError, match="reservation-mismatch"):
        await inventory.reserve(order_id, [RequestedLine(mug, 2)])


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_mean_unavailable(
    fake_products: FakeProducts, client: ServiceClient, status: int
) -> None:
    fake_products.override = _problem(status, "whatever")
    inventory = HttpInventory(client)

    with pytest.raises(DependencyUnavailable):
        await HttpCatalog(client).prices([uuid.uuid4()])
    fake_products.override = _problem(status, "whatever")  # a Response is sent only once
    with pytest.raises(DependencyUnavailable):
        await inventory.reserve(uuid.uuid4(), [RequestedLine(uuid.uuid4(), 1)])
    fake_products.override = _problem(status, "whatever")
    with pytest.raises(DependencyUnavailable):
        await inventory.release(uuid.uuid4())


async def test_an_answer_outside_the_contract_is_a_contract_error(
    fake_products: FakeProducts, client: ServiceClient
) -> None:
    fake_products.override = web.Response(status=404, text="no such route")

    with pytest.raises(DependencyContractError):
        await HttpInventory(client).reserve(uuid.uuid4(), [RequestedLine(uuid.uuid4(), 1)])


async def test_no_answer_in_time_means_unavailable(
    fake_products: FakeProducts, products_url: str
) -> None:
    fake_products.hang = asyncio.Event()
    impatient = ServiceClient("products", products_url, timeout_seconds=0.2)
    try:
        with pytest.raises(DependencyUnavailable, match="timed out"):
            await HttpInventory(impatient).reserve(uuid.uuid4(), [RequestedLine(uuid.uuid4(), 1)])
    finally:
        await impatient.close()


async def test_connection_refused_means_unavailable(refused_url: str) -> None:
    unreachable = ServiceClient("products", refused_url, timeout_seconds=1.0)
    try:
        with pytest.raises(DependencyUnavailable):
            await HttpCatalog(unreachable).prices([uuid.uuid4()])
        with pytest.raises(DependencyUnavailable):
            await HttpInventory(unreachable).release(uuid.uuid4())
    finally:
        await unreachable.close()
