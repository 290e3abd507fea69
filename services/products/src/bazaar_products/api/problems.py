"""Domain errors as problem+json, with stable ``type`` URIs clients can branch on."""

from __future__ import annotations

from collections.abc import Mapping

from bazaar_products.domain import (
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
from chassis import Conflict, NotFound, Unprocessable
from chassis.problem_table import ProblemRow, ProblemTable


def _product_ids(exc: UnknownProducts | InsufficientStock) -> Mapping[str, list[str]]:
    return {"productIds": [str(p) for p in exc.product_ids]}


def _order_id(exc: ReservationMismatch | ReservationReleased) -> Mapping[str, str]:
    return {"orderId": str(exc.order_id)}


problem_for = ProblemTable(
    ProblemRow(ProductNotFound, NotFound, "No such product", "product-not-found"),
    ProblemRow(
        DuplicateSku, Conflict, "SKU taken", "duplicate-sku", extensions=lambda e: {"sku": e.sku}
    ),
    ProblemRow(NothingToChange, Unprocessable, "Empty update", "nothing-to-change"),
    ProblemRow(
        InvalidCursor, Unprocessable, "Invalid cursor", "invalid-cursor",
        extensions=lambda e: {
            "errors": [{"field": "cursor", "message": str(e), "type": "invalid_cursor"}]
        },
    ),
    ProblemRow(InvalidReservation, Unprocessable, "Invalid reservation", None),
    ProblemRow(
        UnknownProducts, Unprocessable, "Unknown product", "unknown-product",
        extensions=_product_ids,
    ),
    ProblemRow(
        InsufficientStock, Conflict, "Insufficient stock", "insufficient-stock",
        extensions=_product_ids,
    ),
    ProblemRow(
        ReservationMismatch, Conflict, "Reservation mismatch", "reservation-mismatch",
        extensions=_order_id,
    ),
    ProblemRow(
        ReservationReleased, Conflict, "Reservation released", "reservation-released",
        extensions=_order_id,
    ),
    ProblemRow(ReservationNotFound, NotFound, "No such reservation", "reservation-not-found"),
)  # fmt: skip
