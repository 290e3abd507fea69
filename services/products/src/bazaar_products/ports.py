"""What the use cases need from the outside world: repositories inside a unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol

from .domain import (
    ListingPosition,
    NewProduct,
    Product,
    ProductChanges,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockEvent,
)


class ProductRepository(Protocol):
    async def get(self, product_id: uuid.UUID) -> Product | None: ...

    async def list_page(self, after: ListingPosition | None, limit: int) -> Sequence[Product]:
        """Up to ``limit`` products in (name, product_id) order, strictly after ``after``."""
        ...

    async def get_many(self, product_ids: Sequence[uuid.UUID]) -> Sequence[Product]:
        """Those of ``product_ids`` that exist, in listing order."""
        ...

    async def existing_ids(self, product_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]: ...

    async def add(self, product_id: uuid.UUID, product: NewProduct) -> Product | None:
        """Inserts; ``None`` if the SKU is taken (nothing written)."""
        ...

    async def add_missing(self, products: Sequence[tuple[uuid.UUID, NewProduct]]) -> int:
        """Inserts those whose SKU is not taken; returns how many were inserted."""
        ...

    async def update(self, product_id: uuid.UUID, changes: ProductChanges) -> Product | None: ...

    async def count(self) -> int: ...

    async def take_stock(self, product_id: uuid.UUID, quantity: int) -> bool:
        """Decrements inventory only if at least ``quantity`` is left; False otherwise."""
        ...

    async def return_stock(self, product_id: uuid.UUID, quantity: int) -> None: ...


class ReservationRepository(Protocol):
    async def claim(self, order_id: uuid.UUID, status: ReservationStatus) -> bool:
        """Creates the order's reservation row unless one exists (then False).

        The primary key decides between concurrent claims: the loser waits for the winner's
        transaction and then sees its row.
        """
        ...

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Reservation | None: ...

    async def add_lines(self, order_id: uuid.UUID, lines: Sequence[ReservationLine]) -> None: ...

    async def set_status(self, order_id: uuid.UUID, status: ReservationStatus) -> None: ...


class EventOutbox(Protocol):
    async def add(self, event: StockEvent) -> None:
        """Records the event in the unit of work's transaction; it is published only if (and
        after) that transaction commits."""
        ...


class UnitOfWork(Protocol):
    """One transaction: committed when the block ends normally, rolled back on any error."""

    products: ProductRepository
    reservations: ReservationRepository
    events: EventOutbox

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
