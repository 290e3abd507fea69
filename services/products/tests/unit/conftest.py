"""In-memory fakes of the products service's own ports, with real transaction semantics.

A unit of work works on a copy of the store and publishes it only when its block ends without
an error, so the tests can prove "all or nothing" the same way PostgreSQL would enforce it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType

import pytest

from bazaar_products.domain import (
    ListingPosition,
    NewProduct,
    Product,
    ProductChanges,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockEvent,
)


def _key(product: Product) -> tuple[str, uuid.UUID]:
    return (product.name, product.product_id)


class FakeProducts:
    def __init__(self, rows: dict[uuid.UUID, Product]) -> None:
        self.rows = rows

    async def get(self, product_id: uuid.UUID) -> Product | None:
        return self.rows.get(product_id)

    async def list_page(self, after: ListingPosition | None, limit: int) -> Sequence[Product]:
        ordered = sorted(self.rows.values(), key=_key)
        if after is not None:
            ordered = [p for p in ordered if _key(p) > (after.name, after.product_id)]
        return ordered[:limit]

    async def get_many(self, product_ids: Sequence[uuid.UUID]) -> Sequence[Product]:
        return sorted((self.rows[i] for i in set(product_ids) if i in self.rows), key=_key)

    async def existing_ids(self, product_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return {i for i in product_ids if i in self.rows}

    async def add(self, product_id: uuid.UUID, product: NewProduct) -> Product | None:
        if any(p.sku == product.sku for p in self.rows.values()):
            return None
        now = datetime.now(UTC)
        row = Product(
            product_id=product_id,
            sku=product.sku,
            name=product.name,
            description=product.description,
            price=product.price,
            currency="USD",
            inventory=product.inventory,
            created_at=now,
            updated_at=now,
        )
        self.rows[product_id] = row
        return row

    async def add_missing(self, products: Sequence[tuple[uuid.UUID, NewProduct]]) -> int:
        added = 0
        for product_id, new in products:
            if await self.add(product_id, new) is not None:
                added += 1
        return added

    async def update(self, product_id: uuid.UUID, changes: ProductChanges) -> Product | None:
        row = self.rows.get(product_id)
        if row is None:
            return None
        fields = {
            k: v
            for k, v in (
                ("name", changes.name),
                ("description", changes.description),
                ("price", changes.price),
                ("inventory", changes.inventory),
            )
            if v is not None
        }
        self.rows[product_id] = replace(row, **fields, updated_at=datetime.now(UTC))
        return self.rows[product_id]

    async def count(self) -> int:
        return len(self.rows)

    async def take_stock(self, product_id: uuid.UUID, quantity: int) -> bool:
        row = self.rows.get(product_id)
        if row is None or row.inventory < quantity:
            return False
        self.rows[product_id] = replace(row, inventory=row.inventory - quantity)
        return True

    async def return_stock(self, product_id: uuid.UUID, quantity: int) -> None:
        row = self.rows[product_id]
        self.rows[product_id] = replace(row, inventory=row.inventory + quantity)


class FakeReservations:
    def __init__(self, rows: dict[uuid.UUID, Reservation]) -> None:
        self.rows = rows

    async def claim(self, order_id: uuid.UUID, status: ReservationStatus) -> bool:
        if order_id in self.rows:
            return False
        self.rows[order_id] = Reservation(order_id, status, ())
        return True

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Reservation | None:
        return self.rows.get(order_id)

    async def add_lines(self, order_id: uuid.UUID, lines: Sequence[ReservationLine]) -> None:
        row = self.rows[order_id]
        self.rows[order_id] = replace(row, lines=tuple(sorted((*row.lines, *lines))))

    async def set_status(self, order_id: uuid.UUID, status: ReservationStatus) -> None:
        self.rows[order_id] = replace(self.rows[order_id], status=status)


class FakeEventOutbox:
    def __init__(self) -> None:
        self.staged: list[StockEvent] = []

    async def add(self, event: StockEvent) -> None:
        self.staged.append(event)


class FakeStore:
    """The committed state; ``uow`` is the UnitOfWorkFactory the use cases take."""

    def __init__(self) -> None:
        self.products: dict[uuid.UUID, Product] = {}
        self.reservations: dict[uuid.UUID, Reservation] = {}
        # What reached the outbox: only events of committed units of work.
        self.events: list[StockEvent] = []
        self.commits = 0

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def inventory(self, product_id: uuid.UUID) -> int:
        return self.products[product_id].inventory

    def put(self, name: str, inventory: int, price: str = "10.00") -> uuid.UUID:
        product_id = uuid.uuid4()
        now = datetime.now(UTC)
        self.products[product_id] = Product(
            product_id=product_id,
            sku=f"SKU-{product_id.hex[:8]}",
            name=name,
            description="",
            price=Decimal(price),
            currency="USD",
            inventory=inventory,
            created_at=now,
            updated_at=now,
        )
        return product_id


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    async def __aenter__(self) -> FakeUnitOfWork:
        self.products = FakeProducts(dict(self._store.products))
        self.reservations = FakeReservations(dict(self._store.reservations))
        self.events = FakeEventOutbox()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._store.products = self.products.rows
            self._store.reservations = self.reservations.rows
            self._store.events.extend(self.events.staged)
            self._store.commits += 1


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()
