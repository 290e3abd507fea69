"""HTTP entrypoints. Domain errors become problems in problems.py, models live in api_models.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response

from chassis import CurrentPrincipal
from chassis.pagination import PageCursor, PageLimit, cursor_position

from . import placement, services
from .api_models import Order, OrderPage, PlaceOrder
from .cursors import decode_cursor, encode_cursor
from .domain import OrderError, RequestedLine
from .problems import problem_for

_AUTH: dict[int | str, dict[str, Any]] = {401: {"description": "Missing or invalid access token"}}
_LOCATION = {"Location": {"description": "/orders/{orderId}", "schema": {"type": "string"}}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such order (or not yours)"}}

router = APIRouter(tags=["orders"])
OrderId = Annotated[uuid.UUID, Path(alias="orderId")]


@router.post(
    "/orders",
    status_code=202,
    operation_id="placeOrder",
    response_model=Order,
    summary="Place an order: priced from the catalog, stored PENDING, then processed",
    description="The order is accepted PENDING; stock is reserved and payment taken in the "
    "background, ending CONFIRMED or REJECTED (with rejectionReason): poll the Location. With "
    "an Idempotency-Key, repeating the same request returns the same order (header "
    "Idempotent-Replayed: true) and places nothing new.",
    responses={
        **_AUTH,
        202: {
            "description": "Accepted PENDING (or the order an earlier request with this "
            "Idempotency-Key placed)",
            "headers": {
                **_LOCATION,
                "Idempotent-Replayed": {
                    "description": "true when an earlier request with the key placed it",
                    "schema": {"type": "string"},
                },
            },
        },
        400: {"description": "Malformed JSON"},
        409: {"description": "The products are priced in different currencies"},
        422: {
            "description": "Invalid items or paymentToken, duplicate or unknown products "
            "(productIds), or an Idempotency-Key reused for a different request"
        },
        502: {"description": "The products service answered outside its contract"},
        503: {
            "description": "The products service (or the database) is unavailable; nothing "
            "was stored",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
async def place_order(
    body: PlaceOrder,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Makes retries safe: the same key and body place one order only.",
        ),
    ] = None,
) -> Order:
    state = request.app.state
    settings = state.settings
    try:
        placed = await placement.place_order(
            principal.user_id,
            [RequestedLine(item.product_id, item.quantity) for item in body.items],
            payment_token=body.payment_token,
            idempotency_key=idempotency_key,
            catalog=state.catalog,
            uow=state.uow,
            saga_deadline=timedelta(seconds=settings.saga_deadline_seconds),
        )
    except OrderError as error:
        raise problem_for(error) from error
    if not placed.replayed:
        state.kick_saga(placed.order.order_id)
    response.headers["Location"] = f"/orders/{placed.order.order_id}"
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return Order.of(placed.order)


@router.post(
    "/orders/{orderId}/cancel",
    response_model=Order,
    operation_id="cancelOrder",
    summary="Cancel one of your CONFIRMED orders (refund and stock release follow)",
    description="A CONFIRMED order becomes CANCELLED at once; the payment is refunded and the "
    "stock released in the background. Cancelling a CANCELLED order again answers the same.",
    responses={
        **_AUTH,
        **_NOT_FOUND,
        409: {
            "description": "The order is still PENDING (order-in-progress) or was REJECTED "
            "(order-not-cancellable)"
        },
        503: {
            "description": "The database is unavailable; nothing changed",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
async def cancel_order(order_id: OrderId, principal: CurrentPrincipal, request: Request) -> Order:
    try:
        order, cancelled_now = await services.cancel_order(
            principal.user_id, order_id, uow=request.app.state.uow
        )
    except OrderError as error:
        raise problem_for(error) from error
    if cancelled_now:
        request.app.state.kick_saga(order.order_id)
    return Order.of(order)


@router.get(
    "/orders/{orderId}",
    response_model=Order,
    operation_id="getOrder",
    summary="One of your own orders",
    responses={**_AUTH, **_NOT_FOUND},
)
async def get_order(order_id: OrderId, principal: CurrentPrincipal, request: Request) -> Order:
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
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> OrderPage:
    page = await services.list_orders(
        principal.user_id,
        limit=limit,
        after=cursor_position(cursor, decode_cursor),
        uow=request.app.state.uow,
    )
    next_cursor = encode_cursor(page.next_position) if page.next_position else None
    return OrderPage(items=[Order.of(o) for o in page.orders], next_cursor=next_cursor)
