"""The products service's use cases; each runs in one unit of work (one transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace

from .cursor import decode_cursor, encode_cursor
from .domain import (
    DuplicateSku,
    InsufficientStock,
    ListingPosition,
    NewProduct,
    NothingToChange,
    Page,
    Product,
    ProductChanges,
    ProductNotFound,
    Reservation,
    ReservationLine,
    ReservationMismatch,
    ReservationNotFound,
    ReservationReleased,
    ReservationStatus,
    ReserveOutcome,
    StockReleased,
    StockReserved,
    UnknownProducts,
    reservation_lines,
)
from .ports import UnitOfWorkFactory


async def list_products(uow: UnitOfWorkFactory, *, limit: int, cursor: str | None) -> Page:
    """One page of the catalog; raises ``InvalidCursor`` for a cursor we did not issue."""
    after = decode_cursor(cursor) if cursor is not None else None
    async with uow() as work:
        # One extra row tells whether another page follows without a second query.
        rows = list(await work.products.list_page(after, limit + 1))
    items = rows[:limit]
    if len(rows) > limit:
        last = items[-1]
        return Page(items, ListingPosition(name=last.name, product_id=last.product_id))
    return Page(items, None)


def next_cursor(page: Page) -> str | None:
    return encode_cursor(page.next_position) if page.next_position is not None else None


async def products_by_ids(uow: UnitOfWorkFactory, product_ids: Iterable[uuid.UUID]) -> Page:
    """Those of the products that exist, in listing order (unknown ids are simply absent)."""
    wanted = sorted(set(product_ids))
    async with uow() as work:
        items = await work.products.get_many(wanted) if wanted else []
    return Page(items, None)


async def get_product(uow: UnitOfWorkFactory, product_id: uuid.UUID) -> Product:
    async with uow() as work:
        product = await work.products.get(product_id)
    if product is None:
        raise ProductNotFound(product_id)
    return product


async def create_product(uow: UnitOfWorkFactory, new: NewProduct) -> Product:
    async with uow() as work:
        product = await work.products.add(uuid.uuid4(), new)
    if product is None:
        raise DuplicateSku(new.sku)
    return product


async def update_product(
    uow: UnitOfWorkFactory, product_id: uuid.UUID, changes: ProductChanges
) -> Product:
    if changes.is_empty():
        raise NothingToChange()
    async with uow() as work:
        product = await work.products.update(product_id, changes)
    if product is None:
        raise ProductNotFound(product_id)
    return product


async def reserve_stock(
    uow: UnitOfWorkFactory, order_id: uuid.UUID, lines: Iterable[ReservationLine]
) -> ReserveOutcome:
    """Takes stock for every line or for none; idempotent per order id.

    A new reservation announces itself (StockReserved, in the same transaction); a repeat
    changes nothing and announces nothing.
    """
    wanted = reservation_lines(lines)
    async with uow() as work:
        if not await work.reservations.claim(order_id, ReservationStatus.RESERVED):
            existing = await work.reservations.get(order_id)
            if existing is None:  # rows are never deleted, so a lost claim means a row exists
                raise RuntimeError(f"reservation {order_id} vanished after a lost claim")
            if existing.status is ReservationStatus.RELEASED:
                raise ReservationReleased(order_id)
            if not existing.holds_same_items(wanted):
                raise ReservationMismatch(order_id)
            return ReserveOutcome(existing, created=False)
        ids = [line.product_id for line in wanted]
        unknown = set(ids) - await work.products.existing_ids(ids)
        if unknown:
            raise UnknownProducts(unknown)
        # In product-id order (``wanted`` is sorted), so concurrent reservations lock rows in
        # the same order and cannot deadlock. Raising rolls back every line already taken.
        short = [
            line.product_id
            for line in wanted
            if not await work.products.take_stock(line.product_id, line.quantity)
        ]
        if short:
            raise InsufficientStock(short)
        await work.reservations.add_lines(order_id, wanted)
        await work.events.add(StockReserved(order_id, wanted))
    return ReserveOutcome(Reservation(order_id, ReservationStatus.RESERVED, wanted), created=True)


async def release_stock(uow: UnitOfWorkFactory, order_id: uuid.UUID) -> Reservation:
    """Gives the order's stock back exactly once.

    Releasing an order that never reserved leaves a RELEASED tombstone, so a reservation
    request that arrives after its compensation is refused instead of leaking stock. Only a
    release that really restores stock announces itself (StockReleased, same transaction).
    """
    async with uow() as work:
        if await work.reservations.claim(order_id, ReservationStatus.RELEASED):
            return Reservation(order_id, ReservationStatus.RELEASED, ())
        # The row lock makes concurrent releases take turns; the second sees RELEASED.
        existing = await work.reservations.get(order_id, for_update=True)
        if existing is None:
            raise RuntimeError(f"reservation {order_id} vanished after a lost claim")
        if existing.status is ReservationStatus.RELEASED:
            return existing
        for line in sorted(existing.lines):
            await work.products.return_stock(line.product_id, line.quantity)
        await work.reservations.set_status(order_id, ReservationStatus.RELEASED)
        if existing.lines:
            await work.events.add(StockReleased(order_id, existing.lines))
    return replace(existing, status=ReservationStatus.RELEASED)


async def get_reservation(uow: UnitOfWorkFactory, order_id: uuid.UUID) -> Reservation:
    async with uow() as work:
        reservation = await work.reservations.get(order_id)
    if reservation is None:
        raise ReservationNotFound(order_id)
    return reservation


async def seed_catalog(
    uow: UnitOfWorkFactory, catalog: Sequence[tuple[uuid.UUID, NewProduct]]
) -> int:
    """Fills an empty catalog; a catalog that has anything in it is left alone."""
    async with uow() as work:
        if await work.products.count() > 0:
            return 0
        return await work.products.add_missing(catalog)
