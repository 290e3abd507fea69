"""PostgreSQL adapters for the ports: SQLAlchemy Core over asyncpg, one session per unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

from sqlalchemy import RowMapping, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from chassis import Database

from .domain import (
    ListingPosition,
    NewProduct,
    Product,
    ProductChanges,
    Reservation,
    ReservationLine,
    ReservationStatus,
)
from .stock_events import SqlEventOutbox
from .tables import products, reservation_lines, reservations

_LISTING_ORDER = (products.c.name, products.c.product_id)


def _product(row: RowMapping) -> Product:
    return Product(
        product_id=row["product_id"],
        sku=row["sku"],
        name=row["name"],
        description=row["description"],
        price=row["price"],
        currency=row["currency"],
        inventory=row["inventory"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _new_row(product_id: uuid.UUID, new: NewProduct) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "sku": new.sku,
        "name": new.name,
        "description": new.description,
        "price": new.price,
        "inventory": new.inventory,
    }


class SqlProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, product_id: uuid.UUID) -> Product | None:
        result = await self._session.execute(
            select(products).where(products.c.product_id == product_id)
        )
        row = result.mappings().one_or_none()
        return _product(row) if row is not None else None

    async def list_page(self, after: ListingPosition | None, limit: int) -> Sequence[Product]:
        query = select(products).order_by(*_LISTING_ORDER).limit(limit)
        if after is not None:
            query = query.where(tuple_(*_LISTING_ORDER) > tuple_(after.name, after.product_id))
        result = await self._session.execute(query)
        return [_product(row) for row in result.mappings()]

    async def get_many(self, product_ids: Sequence[uuid.UUID]) -> Sequence[Product]:
        result = await self._session.execute(
            select(products).where(products.c.product_id.in_(product_ids)).order_by(*_LISTING_ORDER)
        )
        return [_product(row) for row in result.mappings()]

    async def existing_ids(self, product_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        result = await self._session.execute(
            select(products.c.product_id).where(products.c.product_id.in_(product_ids))
        )
        return set(result.scalars())

    async def add(self, product_id: uuid.UUID, product: NewProduct) -> Product | None:
        result = await self._session.execute(
            insert(products)
            .values(_new_row(product_id, product))
            .on_conflict_do_nothing(index_elements=[products.c.sku])
            .returning(*products.c)
        )
        row = result.mappings().one_or_none()
        return _product(row) if row is not None else None

    async def add_missing(self, catalog: Sequence[tuple[uuid.UUID, NewProduct]]) -> int:
        if not catalog:
            return 0
        # ON CONFLICT keeps two replicas seeding at the same moment from failing each other.
        result = await self._session.execute(
            insert(products)
            .values([_new_row(pid, new) for pid, new in catalog])
            .on_conflict_do_nothing()
            .returning(products.c.product_id)
        )
        return len(result.all())

    async def update(self, product_id: uuid.UUID, changes: ProductChanges) -> Product | None:
        values: dict[str, Any] = {
            key: value
            for key, value in (
                ("name", changes.name),
                ("description", changes.description),
                ("price", changes.price),
                ("inventory", changes.inventory),
            )
            if value is not None
        }
        result = await self._session.execute(
            update(products)
            .where(products.c.product_id == product_id)
            .values(**values, updated_at=func.now())
            .returning(*products.c)
        )
        row = result.mappings().one_or_none()
        return _product(row) if row is not None else None

    async def count(self) -> int:
        result = await self._session.execute(select(func.count()).select_from(products))
        return int(result.scalar_one())

    async def take_stock(self, product_id: uuid.UUID, quantity: int) -> bool:
        # One conditional statement: the row lock it takes serialises concurrent takers, and
        # the condition is re-checked against the latest committed inventory.
        result = await self._session.execute(
            update(products)
            .where(products.c.product_id == product_id, products.c.inventory >= quantity)
            .values(inventory=products.c.inventory - quantity, updated_at=func.now())
            .returning(products.c.product_id)
        )
        return result.one_or_none() is not None

    async def return_stock(self, product_id: uuid.UUID, quantity: int) -> None:
        await self._session.execute(
            update(products)
            .where(products.c.product_id == product_id)
            .values(inventory=products.c.inventory + quantity, updated_at=func.now())
        )


class SqlReservationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, order_id: uuid.UUID, status: ReservationStatus) -> bool:
        result = await self._session.execute(
            insert(reservations)
            .values(order_id=order_id, status=status.value)
            .on_conflict_do_nothing(index_elements=[reservations.c.order_id])
            .returning(reservations.c.order_id)
        )
        return result.one_or_none() is not None

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Reservation | None:
        query = select(reservations.c.status).where(reservations.c.order_id == order_id)
        if for_update:
            query = query.with_for_update()
        status = (await self._session.execute(query)).scalar_one_or_none()
        if status is None:
            return None
        lines = await self._session.execute(
            select(reservation_lines.c.product_id, reservation_lines.c.quantity)
            .where(reservation_lines.c.order_id == order_id)
            .order_by(reservation_lines.c.product_id)
        )
        return Reservation(
            order_id=order_id,
            status=ReservationStatus(status),
            lines=tuple(ReservationLine(row.product_id, row.quantity) for row in lines),
        )

    async def add_lines(self, order_id: uuid.UUID, lines: Sequence[ReservationLine]) -> None:
        await self._session.execute(
            insert(reservation_lines).values(
                [
                    {"order_id": order_id, "product_id": ln.product_id, "quantity": ln.quantity}
                    for ln in lines
                ]
            )
        )

    async def set_status(self, order_id: uuid.UUID, status: ReservationStatus) -> None:
        await self._session.execute(
            update(reservations)
            .where(reservations.c.order_id == order_id)
            .values(status=status.value, updated_at=func.now())
        )


class SqlUnitOfWork:
    """A transaction on the service's database with the repositories bound to it.

    ``on_events_committed`` runs after a commit that wrote events to the outbox (the relay's
    ``wake``), so they go out at once instead of at the relay's next poll.
    """

    products: SqlProductRepository
    reservations: SqlReservationRepository
    events: SqlEventOutbox

    def __init__(
        self, database: Database, *, on_events_committed: Callable[[], None] | None = None
    ) -> None:
        self._database = database
        self._on_events_committed = on_events_committed
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> SqlUnitOfWork:
        session = await self._stack.enter_async_context(self._database.transaction())
        self.products = SqlProductRepository(session)
        self.reservations = SqlReservationRepository(session)
        self.events = SqlEventOutbox(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)  # commits, or rolls back on an error
        if exc_type is None and self.events.added and self._on_events_committed is not None:
            self._on_events_committed()
