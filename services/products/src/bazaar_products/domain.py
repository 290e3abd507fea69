"""The catalog and stock reservations: entities, rules and domain errors (no I/O)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

CURRENCY = "USD"
MAX_INVENTORY = 1_000_000
SKU_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_RESERVATION_LINES = 50
MAX_LINE_QUANTITY = 100


@dataclass(frozen=True)
class Product:
    product_id: uuid.UUID
    sku: str
    name: str
    description: str
    price: Decimal
    currency: str
    inventory: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewProduct:
    sku: str
    name: str
    price: Decimal
    inventory: int
    description: str = ""


@dataclass(frozen=True)
class ProductChanges:
    """A partial update: ``None`` means "leave as is"."""

    name: str | None = None
    description: str | None = None
    price: Decimal | None = None
    inventory: int | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.name, self.description, self.price, self.inventory))


@dataclass(frozen=True)
class ListingPosition:
    """Where a page of the listing ended, in its (name, product_id) order."""

    name: str
    product_id: uuid.UUID


@dataclass(frozen=True)
class Page:
    items: Sequence[Product]
    next_position: ListingPosition | None


class ReservationStatus(StrEnum):
    RESERVED = "RESERVED"
    RELEASED = "RELEASED"


@dataclass(frozen=True, order=True)
class ReservationLine:
    product_id: uuid.UUID
    quantity: int


def reservation_lines(lines: Iterable[ReservationLine]) -> tuple[ReservationLine, ...]:
    """Checks a reservation's lines and sorts them by product id, the order rows are locked in.

    Sorting is what keeps two concurrent multi-line reservations from deadlocking each other.
    """
    result = tuple(sorted(lines))
    if not 1 <= len(result) <= MAX_RESERVATION_LINES:
        raise InvalidReservation(f"a reservation has 1 to {MAX_RESERVATION_LINES} lines")
    seen: set[uuid.UUID] = set()
    for line in result:
        if not 1 <= line.quantity <= MAX_LINE_QUANTITY:
            raise InvalidReservation(f"quantities are 1 to {MAX_LINE_QUANTITY}")
        if line.product_id in seen:
            raise InvalidReservation(f"product {line.product_id} appears on more than one line")
        seen.add(line.product_id)
    return result


@dataclass(frozen=True)
class Reservation:
    order_id: uuid.UUID
    status: ReservationStatus
    lines: tuple[ReservationLine, ...]

    def holds_same_items(self, lines: Iterable[ReservationLine]) -> bool:
        return set(self.lines) == set(lines)


@dataclass(frozen=True)
class ReserveOutcome:
    reservation: Reservation
    created: bool  # False: an idempotent repeat answered from the stored reservation


@dataclass(frozen=True)
class StockReserved:
    """An order took stock (a new reservation, never an idempotent repeat)."""

    order_id: uuid.UUID
    lines: tuple[ReservationLine, ...]


@dataclass(frozen=True)
class StockReleased:
    """An order's reserved stock went back on the shelf (never for a tombstone or a repeat)."""

    order_id: uuid.UUID
    lines: tuple[ReservationLine, ...]


StockEvent = StockReserved | StockReleased


class DomainError(Exception):
    pass


class ProductNotFound(DomainError):
    def __init__(self, product_id: uuid.UUID) -> None:
        super().__init__(f"Product {product_id} does not exist.")
        self.product_id = product_id


class DuplicateSku(DomainError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"A product with SKU '{sku}' already exists.")
        self.sku = sku


class NothingToChange(DomainError):
    def __init__(self) -> None:
        super().__init__("The update names no field to change.")


class InvalidCursor(DomainError):
    def __init__(self) -> None:
        super().__init__("The cursor is malformed; use the nextCursor of a previous page.")


class InvalidReservation(DomainError):
    pass


class UnknownProducts(DomainError):
    def __init__(self, product_ids: Iterable[uuid.UUID]) -> None:
        self.product_ids = sorted(product_ids)
        super().__init__(
            "These products do not exist: " + ", ".join(str(p) for p in self.product_ids) + "."
        )


class InsufficientStock(DomainError):
    def __init__(self, product_ids: Iterable[uuid.UUID]) -> None:
        self.product_ids = sorted(product_ids)
        super().__init__(
            "Not enough stock for: " + ", ".join(str(p) for p in self.product_ids) + "."
        )


class ReservationMismatch(DomainError):
    def __init__(self, order_id: uuid.UUID) -> None:
        super().__init__(f"Order {order_id} already holds a reservation for different items.")
        self.order_id = order_id


class ReservationReleased(DomainError):
    def __init__(self, order_id: uuid.UUID) -> None:
        super().__init__(f"The reservation for order {order_id} was released; it cannot be made.")
        self.order_id = order_id


class ReservationNotFound(DomainError):
    def __init__(self, order_id: uuid.UUID) -> None:
        super().__init__(f"There is no reservation for order {order_id}.")
        self.order_id = order_id
