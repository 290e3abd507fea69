"""Orders: the aggregate, its status transitions, money rules and domain errors. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

MAX_LINES = 50
MIN_QUANTITY = 1
MAX_QUANTITY = 100
# orders.total_amount is numeric(10,2); a larger total could not be stored.
MAX_TOTAL = Decimal("99999999.99")
CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class RejectionReason(StrEnum):
    """Why the saga ended an order REJECTED (the values of OrderRejected's ``reason``)."""

    OUT_OF_STOCK = "out_of_stock"
    UNKNOWN_PRODUCT = "unknown_product"
    PAYMENT_DECLINED = "payment_declined"
    TIMED_OUT = "timed_out"


# REJECTED and CANCELLED are final. CONFIRMED can still be cancelled (before shipping) by running
# the compensations; the saga (DESIGN.md §3) drives PENDING to one of the others.
_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset(
        {OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
    ),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.CANCELLED}),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


# -- errors -------------------------------------------------------------------------------------


class OrderError(Exception):
    """Base of every error the orders domain and use cases raise on purpose."""


class InvalidOrder(OrderError):
    """The requested lines break a rule (count, quantity)."""


class ProductsError(OrderError):
    """An error about specific products; ``product_ids`` names them in request order."""

    def __init__(self, message: str, product_ids: Iterable[uuid.UUID]) -> None:
        self.product_ids: tuple[uuid.UUID, ...] = tuple(dict.fromkeys(product_ids))
        super().__init__(f"{message}: {', '.join(str(p) for p in self.product_ids)}")


class DuplicateProducts(ProductsError):
    def __init__(self, product_ids: Iterable[uuid.UUID]) -> None:
        super().__init__("products requested on more than one line", product_ids)


class UnknownProducts(ProductsError):
    def __init__(self, product_ids: Iterable[uuid.UUID]) -> None:
        super().__init__("unknown products", product_ids)


class InsufficientStock(ProductsError):
    def __init__(self, product_ids: Iterable[uuid.UUID]) -> None:
        super().__init__("not enough stock", product_ids)


class MixedCurrencies(OrderError):
    """The catalog prices the requested products in more than one currency."""


class OrderTotalTooLarge(OrderError):
    pass


class InvalidTransition(OrderError):
    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"an order cannot go from {current} to {target}")
        self.current = current
        self.target = target


class OrderNotFound(OrderError):
    pass


class OrderNotCancellable(OrderError):
    """Only a CONFIRMED order can be cancelled; a PENDING one is still in flight."""

    def __init__(self, status: OrderStatus) -> None:
        super().__init__(f"an order that is {status} cannot be cancelled")
        self.status = status


class IdempotencyKeyReused(OrderError):
    """The customer sent this Idempotency-Key before, with a different request."""


class PaymentVoided(OrderError):
    """Payments refused an authorization because the order's payment was already voided:
    an earlier compensation got there first."""


class DependencyUnavailable(OrderError):
    """Another service (or our own store) could not be reached, or failed: retry later."""

    def __init__(self, dependency: str, message: str) -> None:
        super().__init__(f"{dependency}: {message}")
        self.dependency = dependency


class DependencyContractError(OrderError):
    """Another service answered something its contract does not allow."""

    def __init__(self, dependency: str, message: str) -> None:
        super().__init__(f"{dependency}: {message}")
        self.dependency = dependency


# -- values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestedLine:
    product_id: uuid.UUID
    quantity: int


@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class OrderLine:
    product_id: uuid.UUID
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return to_cents(self.unit_price * self.quantity)


def check_requested_lines(lines: Sequence[RequestedLine]) -> None:
    """The rules on what a customer may ask for, before anything is priced or reserved."""
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidOrder(f"an order has 1 to {MAX_LINES} lines, not {len(lines)}")
    if any(not MIN_QUANTITY <= line.quantity <= MAX_QUANTITY for line in lines):
        raise InvalidOrder(f"quantities must be {MIN_QUANTITY} to {MAX_QUANTITY}")
    seen: set[uuid.UUID] = set()
    duplicates: list[uuid.UUID] = []
    for line in lines:
        if line.product_id in seen:
            duplicates.append(line.product_id)
        seen.add(line.product_id)
    if duplicates:
        raise DuplicateProducts(duplicates)


# -- the aggregate ------------------------------------------------------------------------------


@dataclass
class Order:
    order_id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    currency: str
    lines: tuple[OrderLine, ...]
    created_at: datetime
    updated_at: datetime
    rejection_reason: RejectionReason | None = None
    total_amount: Decimal = field(init=False)

    def __post_init__(self) -> None:
        self.total_amount = to_cents(sum((line.line_total for line in self.lines), Decimal(0)))

    @classmethod
    def place(
        cls,
        *,
        order_id: uuid.UUID,
        customer_id: uuid.UUID,
        requested: Sequence[RequestedLine],
        prices: Mapping[uuid.UUID, Price],
        now: datetime,
    ) -> Order:
        """A new PENDING order priced from the catalog; the client never supplies a price."""
        check_requested_lines(requested)
        missing = [line.product_id for line in requested if line.product_id not in prices]
        if missing:
            raise UnknownProducts(missing)
        currencies = {prices[line.product_id].currency for line in requested}
        if len(currencies) != 1:
            raise MixedCurrencies(f"the products are priced in {', '.join(sorted(currencies))}")
        lines = tuple(
            OrderLine(line.product_id, line.quantity, to_cents(prices[line.product_id].amount))
            for line in requested
        )
        order = cls(
            order_id=order_id,
            customer_id=customer_id,
            status=OrderStatus.PENDING,
            currency=currencies.pop(),
            lines=lines,
            created_at=now,
            updated_at=now,
        )
        if order.total_amount > MAX_TOTAL:
            raise OrderTotalTooLarge(f"the order total may be at most {MAX_TOTAL}")
        return order

    def can_become(self, target: OrderStatus) -> bool:
        return target in _TRANSITIONS[self.status]

    def _move_to(self, target: OrderStatus, now: datetime) -> None:
        if not self.can_become(target):
            raise InvalidTransition(self.status, target)
        self.status = target
        self.updated_at = now

    def confirm(self, now: datetime) -> None:
        self._move_to(OrderStatus.CONFIRMED, now)

    def reject(self, now: datetime, reason: RejectionReason) -> None:
        self._move_to(OrderStatus.REJECTED, now)
        self.rejection_reason = reason

    def cancel(self, now: datetime) -> None:
        self._move_to(OrderStatus.CANCELLED, now)


@dataclass(frozen=True)
class Authorized:
    payment_id: uuid.UUID


@dataclass(frozen=True)
class Declined:
    reason: str


@dataclass(frozen=True)
class ListPosition:
    """Where a page of a customer's orders ends: the keyset (created_at desc, order_id desc)."""

    created_at: datetime
    order_id: uuid.UUID


@dataclass(frozen=True)
class OrderPage:
    orders: tuple[Order, ...]
    next_position: ListPosition | None
