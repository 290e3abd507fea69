"""The internal reservation API the orders saga calls (never routed by the gateway)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from bazaar_products import domain, schemas, services
from bazaar_products.domain import DomainError, ReservationLine
from bazaar_products.exact_json import ExactJsonRoute

from .problems import problem_for
from .wiring import UoW

OrderId = Annotated[uuid.UUID, Path(alias="orderId")]
INTERNAL: dict[str, Any] = {"x-internal": True}


def _reservation_view(reservation: domain.Reservation) -> schemas.Reservation:
    return schemas.Reservation(
        order_id=reservation.order_id,
        status=reservation.status,
        items=[
            schemas.ReservationLine(product_id=line.product_id, quantity=line.quantity)
            for line in reservation.lines
        ],
    )


internal = APIRouter(prefix="/internal", tags=["internal"], route_class=ExactJsonRoute)


@internal.post(
    "/reservations",
    response_model=schemas.Reservation,
    status_code=status.HTTP_201_CREATED,
    operation_id="reserveStock",
    summary="Reserve stock for an order, all lines or none",
    description="Idempotent per orderId: repeating a reservation with the same items answers "
    "200 with the stored reservation and takes no more stock.",
    responses={
        200: {"model": schemas.Reservation, "description": "Already reserved (a repeat)"},
        409: {
            "description": "Insufficient stock (`productIds` names the short lines), a "
            "reservation for other items exists, or the order's reservation was released"
        },
        422: {"description": "Invalid request, or unknown products (`productIds`)"},
    },
    openapi_extra=INTERNAL,
)
async def reserve(
    uow: UoW, body: schemas.ReservationRequest, response: Response
) -> schemas.Reservation:
    lines = [ReservationLine(item.product_id, item.quantity) for item in body.items]
    try:
        outcome = await services.reserve_stock(uow, body.order_id, lines)
    except DomainError as exc:
        raise problem_for(exc) from exc
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    return _reservation_view(outcome.reservation)


@internal.post(
    "/reservations/{orderId}/release",
    response_model=schemas.Reservation,
    operation_id="releaseStock",
    summary="Give an order's reserved stock back, exactly once",
    description="Releasing an order that never reserved records a RELEASED reservation with no "
    "items, so a reservation arriving later for it is refused.",
    openapi_extra=INTERNAL,
)
async def release(uow: UoW, order_id: OrderId) -> schemas.Reservation:
    try:
        return _reservation_view(await services.release_stock(uow, order_id))
    except DomainError as exc:
        raise problem_for(exc) from exc


@internal.get(
    "/reservations/{orderId}",
    response_model=schemas.Reservation,
    operation_id="getReservation",
    summary="An order's reservation",
    responses={404: {"description": "No reservation for this order"}},
    openapi_extra=INTERNAL,
)
async def get_reservation(uow: UoW, order_id: OrderId) -> schemas.Reservation:
    try:
        return _reservation_view(await services.get_reservation(uow, order_id))
    except DomainError as exc:
        raise problem_for(exc) from exc
