"""Domain errors as problem+json, with stable ``type`` URIs clients can branch on."""

from __future__ import annotations

from bazaar_products.domain import (
    DomainError,
    DuplicateSku,
    InsufficientStock,
    InvalidCursor,
    InvalidReservation,
    NothingToChange,
    ProductNotFound,
    ReservationMismatch,
    ReservationNotFound,
    ReservationReleased,
    UnknownProducts,
)
from chassis import Conflict, NotFound, Problem, Unprocessable

PROBLEMS = "https://bazaar.dev/problems/"


def problem_for(exc: DomainError) -> Problem:
    detail = str(exc)
    match exc:
        case ProductNotFound():
            return NotFound(detail, type=PROBLEMS + "product-not-found", title="No such product")
        case DuplicateSku():
            return Conflict(detail, type=PROBLEMS + "duplicate-sku", title="SKU taken", sku=exc.sku)
        case NothingToChange():
            return Unprocessable(detail, type=PROBLEMS + "nothing-to-change", title="Empty update")
        case InvalidCursor():
            return Unprocessable(
                detail,
                type=PROBLEMS + "invalid-cursor",
                title="Invalid cursor",
                errors=[{"field": "cursor", "message": detail, "type": "invalid_cursor"}],
            )
        case InvalidReservation():
            return Unprocessable(detail, title="Invalid reservation")
        case UnknownProducts():
            return Unprocessable(
                detail,
                type=PROBLEMS + "unknown-product",
                title="Unknown product",
                productIds=[str(p) for p in exc.product_ids],
            )
        case InsufficientStock():
            return Conflict(
                detail,
                type=PROBLEMS + "insufficient-stock",
                title="Insufficient stock",
                productIds=[str(p) for p in exc.product_ids],
            )
        case ReservationMismatch():
            return Conflict(
                detail,
                type=PROBLEMS + "reservation-mismatch",
                title="Reservation mismatch",
                orderId=str(exc.order_id),
            )
        case ReservationReleased():
            return Conflict(
                detail,
                type=PROBLEMS + "reservation-released",
                title="Reservation released",
                orderId=str(exc.order_id),
            )
        case ReservationNotFound():
            return NotFound(
                detail, type=PROBLEMS + "reservation-not-found", title="No such reservation"
            )
    # A domain error nobody mapped is a bug here, not the client's fault.
    return Problem("An unexpected error occurred.", status=500)
