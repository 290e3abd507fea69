"""HTTP entrypoints: request/response models, and the ONLY place domain errors become Problems."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from chassis import (
    BadRequest,
    Conflict,
    CurrentPrincipal,
    NotFound,
    Problem,
    ServiceUnavailable,
    Unprocessable,
)

from . import services
from .cursors import InvalidCursor, decode_cursor, encode_cursor
from .domain import (
    MAX_LINES,
    MAX_QUANTITY,
    MIN_QUANTITY,
    DependencyContractError,
    DependencyUnavailable,
    DuplicateProducts,
    InsufficientStock,
    InvalidOrder,
    MixedCurrencies,
    OrderError,
    OrderNotFound,
    OrderStatus,
    OrderTotalTooLarge,
    RequestedLine,
    UnknownProducts,
)
from .domain import Order as PlacedOrder

PROBLEMS = "https://bazaar.dev/problems"
RETRY_AFTER_SECONDS = "2"
MONEY = Field(pattern=r"^-?\d+\.\d{2}$", examples=["19.99"])


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PlaceOrderItem(_Model):
    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    # strict: 2.0, "2" or true are not quantities.
    quantity: int = Field(ge=MIN_QUANTITY, le=MAX_QUANTITY, strict=True)


class PlaceOrder(_Model):
    model_config = ConfigDict(extra="forbid")

    items: list[PlaceOrderItem] = Field(min_length=1, max_length=MAX_LINES)


class OrderItem(_Model):
    product_id: uuid.UUID
    quantity: int
    unit_price: Annotated[str, MONEY]
    line_total: Annotated[str, MONEY]


class Order(_Model):
    order_id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    total_amount: Annotated[str, MONEY]
    currency: str = Field(examples=["USD"])
    items: list[OrderItem]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: PlacedOrder) -> Order:
        return cls(
            order_id=order.order_id,
            customer_id=order.customer_id,
            status=order.status,
            total_amount=f"{order.total_amount:.2f}",
            currency=order.currency,
            items=[
                OrderItem(
                    product_id=line.product_id,
                    quantity=line.quantity,
                    unit_price=f"{line.unit_price:.2f}",
                    line_total=f"{line.line_total:.2f}",
                )
                for line in order.lines
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class OrderPage(_Model):
    items: list[Order]
    next_cursor: str | None


def _ids(product_ids: tuple[uuid.UUID, ...]) -> list[str]:
    return [str(p) for p in product_ids]


def problem_for(error: OrderError) -> Problem:
    """Every domain error the routes can meet, as the answer a client gets."""
    if isinstance(error, DuplicateProducts):
        return Unprocessable(
            f"Each product may appear on one line only: {', '.join(_ids(error.product_ids))}.",
            title="Duplicate product",
            type=f"{PROBLEMS}/duplicate-product",
            productIds=_ids(error.product_ids),
        )
    if isinstance(error, UnknownProducts):
        return Unprocessable(
            f"These products do not exist: {', '.join(_ids(error.product_ids))}.",
            title="Unknown product",
            type=f"{PROBLEMS}/unknown-product",
            productIds=_ids(error.product_ids),
        )
    if isinstance(error, InsufficientStock):
        return Conflict(
            f"Not enough stock for: {', '.join(_ids(error.product_ids))}.",
            title="Insufficient stock",
            type=f"{PROBLEMS}/insufficient-stock",
            productIds=_ids(error.product_ids),
        )
    if isinstance(error, InvalidOrder):
        return Unprocessable(str(error), title="Invalid order", type=f"{PROBLEMS}/invalid-order")
    if isinstance(error, OrderTotalTooLarge):
        return Unprocessable(
            "The order total is larger than one order may be; split it into several orders.",
            title="Order too large",
            type=f"{PROBLEMS}/order-too-large",
        )
    if isinstance(error, MixedCurrencies):
        return Conflict(
            f"These products cannot be bought in one order: {error}.",
            title="Mixed currencies",
            type=f"{PROBLEMS}/mixed-currencies",
        )
    if isinstance(error, OrderNotFound):
        return NotFound(
            "No such order.", title="Order not found", type=f"{PROBLEMS}/order-not-found"
        )
    if isinstance(error, DependencyUnavailable):
        return ServiceUnavailable(
            "A service this request needs is unavailable; nothing was stored. Try again shortly.",
            title="Dependency unavailable",
            type=f"{PROBLEMS}/dependency-unavailable",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    if isinstance(error, DependencyContractError):
        return Problem(
            "A service this request needs answered unexpectedly; nothing was stored.",
            status=502,
            title="Bad gateway",
            type=f"{PROBLEMS}/dependency-error",
        )
    return Problem("An unexpected error occurred.", status=500)


_AUTH: dict[int | str, dict[str, Any]] = {401: {"description": "Missing or invalid access token"}}

router = APIRouter(tags=["orders"])


@router.post(
    "/orders",
    status_code=201,
    operation_id="placeOrder",
    response_model=Order,
    summary="Place an order (priced from the catalog, stock reserved, stored CONFIRMED)",
    responses={
        **_AUTH,
        201: {
            "description": "Placed: stock reserved, order stored CONFIRMED",
            "headers": {
                "Location": {"description": "/orders/{orderId}", "schema": {"type": "string"}}
            },
        },
        400: {"description": "Malformed JSON"},
        409: {"description": "Insufficient stock (productIds names the lines short of stock)"},
        422: {"description": "Invalid items, duplicate or unknown products (productIds)"},
        502: {"description": "The products service answered outside its contract"},
        503: {
            "description": "The products service (or the database) is unavailable",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
async def place_order(
    body: PlaceOrder, principal: CurrentPrincipal, request: Request, response: Response
) -> Order:
    state = request.app.state
    try:
        order = await services.place_order(
            principal.user_id,
            [RequestedLine(item.product_id, item.quantity) for item in body.items],
            catalog=state.catalog,
            inventory=state.inventory,
            uow=state.uow,
        )
    except OrderError as error:
        raise problem_for(error) from error
    response.headers["Location"] = f"/orders/{order.order_id}"
    return Order.of(order)


@router.get(
    "/orders/{orderId}",
    response_model=Order,
    operation_id="getOrder",
    summary="One of your own orders",
    responses={**_AUTH, 404: {"description": "No such order (or not yours)"}},
)
async def get_order(
    order_id: Annotated[uuid.UUID, Path(alias="orderId")],
    principal: CurrentPrincipal,
    request: Request,
) -> Order:
    try:
        order = await services.get_order(principal.user_id, order_id, uow=request.app.state.uow)
    except OrderError as error:
        raise problem_for(error) from error
    return Order.of(order)


@router.get(
    "/orders",
    response_model=OrderPage,
    operation_id="listOrders",
    summary="Your own orders, newest first",
    responses={**_AUTH, 400: {"description": "Malformed cursor"}},
)
async def list_orders(
    principal: CurrentPrincipal,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> OrderPage:
    try:
        after = decode_cursor(cursor) if cursor else None
    except InvalidCursor as exc:
        raise BadRequest(
            "The cursor is malformed; use nextCursor from a previous page.",
            title="Invalid cursor",
            type=f"{PROBLEMS}/invalid-cursor",
        ) from exc
    page = await services.list_orders(
        principal.user_id, limit=limit, after=after, uow=request.app.state.uow
    )
    next_cursor = encode_cursor(page.next_position) if page.next_position else None
    return OrderPage(items=[Order.of(o) for o in page.orders], next_cursor=next_cursor)
