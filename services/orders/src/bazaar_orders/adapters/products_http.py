"""Catalog and Inventory over the products service's HTTP API (pooled aiohttp, via the chassis).

Reservations and releases are keyed by the order id, so they are sent with ``idempotent=True``
(the client may retry them, as it does the GET). "Could not reach it", a timeout, an open
circuit breaker, a 5xx or a 429 become DependencyUnavailable (worth retrying later);
any other answer the contract does not allow becomes DependencyContractError.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bazaar_orders.domain import (
    DependencyContractError,
    InsufficientStock,
    Price,
    RequestedLine,
    UnknownProducts,
)
from chassis import ServiceClient, UpstreamResponse

from .dependency_calls import Dependency

UPSTREAM = "products"
INSUFFICIENT_STOCK = "https://bazaar.dev/problems/insufficient-stock"
UNKNOWN_PRODUCT = "https://bazaar.dev/problems/unknown-product"
# The products API caps a page at 100; asking for more ids at once would silently lose some.
PAGE_LIMIT = 100


class _Product(BaseModel):
    model_config = ConfigDict(extra="ignore")

    product_id: uuid.UUID = Field(alias="productId")
    price: Decimal = Field(ge=0, allow_inf_nan=False)
    currency: str = Field(min_length=3, max_length=3)


class _ProductPage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[_Product]


class _ProductsProblem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = "about:blank"
    product_ids: list[uuid.UUID] = Field(default_factory=list, alias="productIds")


def _problem(response: UpstreamResponse) -> _ProductsProblem | None:
    try:
        return _ProductsProblem.model_validate_json(response.body)
    except ValidationError:
        return None


class HttpCatalog:
    def __init__(self, client: ServiceClient) -> None:
        self._upstream = Dependency(UPSTREAM, client)

    async def prices(self, product_ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, Price]:
        wanted = list(dict.fromkeys(product_ids))
        found: dict[uuid.UUID, Price] = {}
        for start in range(0, len(wanted), PAGE_LIMIT):
            chunk = wanted[start : start + PAGE_LIMIT]
            params = {"ids": ",".join(str(p) for p in chunk), "limit": str(PAGE_LIMIT)}
            response = await self._upstream.call("GET", "/products", params=params)
            if response.status != 200:
                raise self._upstream.unexpected("GET", "/products", response)
            try:
                page = _ProductPage.model_validate_json(response.body)
            except ValidationError as exc:
                raise DependencyContractError(UPSTREAM, f"unreadable product list: {exc}") from exc
            for product in page.items:
                if product.product_id in chunk:  # never price what was not asked for
                    found[product.product_id] = Price(product.price, product.currency.upper())
        return found


class HttpInventory:
    def __init__(self, client: ServiceClient) -> None:
        self._upstream = Dependency(UPSTREAM, client)

    async def reserve(self, order_id: uuid.UUID, lines: Sequence[RequestedLine]) -> None:
        path = "/internal/reservations"
        body = {
            "orderId": str(order_id),
            "items": [
                {"productId": str(line.product_id), "quantity": line.quantity} for line in lines
            ],
        }
        response = await self._upstream.call("POST", path, json=body, idempotent=True)
        if response.status in (200, 201):
            return
        problem = _problem(response)
        if problem is not None and problem.type == INSUFFICIENT_STOCK and response.status == 409:
            raise InsufficientStock(problem.product_ids or [line.product_id for line in lines])
        if problem is not None and problem.type == UNKNOWN_PRODUCT and response.status == 422:
            raise UnknownProducts(problem.product_ids or [line.product_id for line in lines])
        # reservation-mismatch / -released cannot happen for a fresh order id: a contract breach.
        raise self._upstream.unexpected("POST", path, response)

    async def release(self, order_id: uuid.UUID) -> None:
        path = f"/internal/reservations/{order_id}/release"
        response = await self._upstream.call("POST", path, idempotent=True)
        if response.status != 200:
            raise self._upstream.unexpected("POST", path, response)
