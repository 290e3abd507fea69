"""Domain errors as the problem+json answers clients get (the only place this happens)."""

from __future__ import annotations

import uuid

from chassis import Conflict, NotFound, Problem, ServiceUnavailable, Unprocessable

from .domain import (
    DependencyContractError,
    DependencyUnavailable,
    DuplicateProducts,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidOrder,
    MixedCurrencies,
    OrderError,
    OrderNotCancellable,
    OrderNotFound,
    OrderStatus,
    OrderTotalTooLarge,
    UnknownProducts,
)

PROBLEMS = "https://bazaar.dev/problems"
RETRY_AFTER_SECONDS = "2"


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
    if isinstance(error, IdempotencyKeyReused):
        return Unprocessable(
            "This Idempotency-Key was already used for a different request; use a new key.",
            title="Idempotency key reused",
            type=f"{PROBLEMS}/idempotency-key-reused",
        )
    if isinstance(error, OrderNotCancellable) and error.status is OrderStatus.PENDING:
        return Conflict(
            "The order is still being processed; it can be cancelled once it is confirmed.",
            title="Order in progress",
            type=f"{PROBLEMS}/order-in-progress",
            orderStatus=error.status.value,
        )
    if isinstance(error, OrderNotCancellable):
        return Conflict(
            f"An order that is {error.status} cannot be cancelled.",
            title="Order not cancellable",
            type=f"{PROBLEMS}/order-not-cancellable",
            orderStatus=error.status.value,
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
