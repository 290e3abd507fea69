"""Domain errors as the problem+json answers clients get (the only place this happens)."""

from __future__ import annotations

from chassis import Conflict, NotFound, Problem, ServiceUnavailable, Unprocessable
from chassis.problem_table import ProblemRow, ProblemTable

from .domain import (
    DependencyContractError,
    DependencyUnavailable,
    DuplicateProducts,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidOrder,
    MixedCurrencies,
    OrderNotCancellable,
    OrderNotFound,
    OrderStatus,
    OrderTotalTooLarge,
    ProductsError,
    UnknownProducts,
)

RETRY_AFTER_SECONDS = "2"


def _ids(error: ProductsError) -> list[str]:
    return [str(p) for p in error.product_ids]


def _product_ids(error: ProductsError) -> dict[str, list[str]]:
    return {"productIds": _ids(error)}


def _order_status(error: OrderNotCancellable) -> dict[str, str]:
    return {"orderStatus": error.status.value}


problem_for = ProblemTable(
    ProblemRow(
        DuplicateProducts, Unprocessable, "Duplicate product", "duplicate-product",
        detail=lambda e: f"Each product may appear on one line only: {', '.join(_ids(e))}.",
        extensions=_product_ids,
    ),
    ProblemRow(
        UnknownProducts, Unprocessable, "Unknown product", "unknown-product",
        detail=lambda e: f"These products do not exist: {', '.join(_ids(e))}.",
        extensions=_product_ids,
    ),
    ProblemRow(
        InsufficientStock, Conflict, "Insufficient stock", "insufficient-stock",
        detail=lambda e: f"Not enough stock for: {', '.join(_ids(e))}.",
        extensions=_product_ids,
    ),
    ProblemRow(InvalidOrder, Unprocessable, "Invalid order", "invalid-order"),
    ProblemRow(
        OrderTotalTooLarge, Unprocessable, "Order too large", "order-too-large",
        detail=lambda _: "The order total is larger than one order may be; split it into "
        "several orders.",
    ),
    ProblemRow(
        MixedCurrencies, Conflict, "Mixed currencies", "mixed-currencies",
        detail=lambda e: f"These products cannot be bought in one order: {e}.",
    ),
    ProblemRow(
        IdempotencyKeyReused, Unprocessable, "Idempotency key reused", "idempotency-key-reused",
        detail=lambda _: "This Idempotency-Key was already used for a different request; use "
        "a new key.",
    ),
    ProblemRow(
        OrderNotCancellable, Conflict, "Order in progress", "order-in-progress",
        detail=lambda _: "The order is still being processed; it can be cancelled once it is "
        "confirmed.",
        extensions=_order_status,
        when=lambda e: e.status is OrderStatus.PENDING,
    ),
    ProblemRow(
        OrderNotCancellable, Conflict, "Order not cancellable", "order-not-cancellable",
        detail=lambda e: f"An order that is {e.status} cannot be cancelled.",
        extensions=_order_status,
    ),
    ProblemRow(
        OrderNotFound, NotFound, "Order not found", "order-not-found",
        detail=lambda _: "No such order.",
    ),
    ProblemRow(
        DependencyUnavailable, ServiceUnavailable, "Dependency unavailable",
        "dependency-unavailable",
        detail=lambda _: "A service this request needs is unavailable; nothing was stored. "
        "Try again shortly.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    ),
    ProblemRow(
        DependencyContractError, Problem, "Bad gateway", "dependency-error", status=502,
        detail=lambda _: "A service this request needs answered unexpectedly; nothing was "
        "stored.",
    ),
)  # fmt: skip
