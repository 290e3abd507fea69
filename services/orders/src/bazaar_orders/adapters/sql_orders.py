"""OrderRepository and UnitOfWork on PostgreSQL, SQLAlchemy Core over asyncpg."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bazaar_orders.domain import ListPosition, Order, OrderLine, OrderStatus, RejectionReason
from bazaar_orders.tables import order_items, orders
from chassis import unit_of_work as chassis_uow

from .sql_sagas import SqlIdempotencyKeys, SqlOutbox, SqlSagaRepository


class SqlOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, order: Order) -> None:
        await self._session.execute(
            insert(orders).values(
                order_id=order.order_id,
                customer_id=order.customer_id,
                total_amount=order.total_amount,
                currency=order.currency,
                status=order.status.value,
                rejection_reason=order.rejection_reason,
                created_at=order.created_at,
                updated_at=order.updated_at,
            )
        )
        await self._session.execute(
            insert(order_items),
            [
                {
                    "item_id": uuid.uuid4(),
                    "order_id": order.order_id,
                    "line_no": number,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                }
                for number, line in enumerate(order.lines, start=1)
            ],
        )

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Order | None:
        query = select(orders).where(orders.c.order_id == order_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        return (await self._with_lines([row]))[0]

    async def update_status(self, order: Order) -> None:
        await self._session.execute(
            update(orders)
            .where(orders.c.order_id == order.order_id)
            .values(
                status=order.status.value,
                rejection_reason=order.rejection_reason,
                updated_at=order.updated_at,
            )
        )

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, limit: int, after: ListPosition | None
    ) -> list[Order]:
        query = (
            select(orders)
            .where(orders.c.customer_id == customer_id)
            .order_by(orders.c.created_at.desc(), orders.c.order_id.desc())
            .limit(limit)
        )
        if after is not None:
            # A row-value comparison, so PostgreSQL walks the listing index from the position.
            query = query.where(
                tuple_(orders.c.created_at, orders.c.order_id)
                < tuple_(after.created_at, after.order_id)
            )
        rows = (await self._session.execute(query)).all()
        return await self._with_lines(rows)

    async def _with_lines(self, rows: Sequence[Row[Any]]) -> list[Order]:
        if not rows:
            return []
        lines: defaultdict[uuid.UUID, list[OrderLine]] = defaultdict(list)
        item_rows = await self._session.execute(
            select(order_items)
            .where(order_items.c.order_id.in_([row.order_id for row in rows]))
            .order_by(order_items.c.order_id, order_items.c.line_no)
        )
        for item in item_rows:
            lines[item.order_id].append(OrderLine(item.product_id, item.quantity, item.unit_price))
        return [
            Order(
                order_id=row.order_id,
                customer_id=row.customer_id,
                status=OrderStatus(row.status),
                currency=row.currency,
                lines=tuple(lines[row.order_id]),
                created_at=row.created_at,
                updated_at=row.updated_at,
                rejection_reason=(
                    RejectionReason(row.rejection_reason) if row.rejection_reason else None
                ),
            )
            for row in rows
        ]


class SqlUnitOfWork(chassis_uow.SqlUnitOfWork):
    """The orders, sagas, idempotency keys and outbox of one transaction.

    ``on_events_committed`` is called after a commit that wrote to the outbox (the relay's
    wake-up).
    """

    orders: SqlOrderRepository
    sagas: SqlSagaRepository
    idempotency_keys: SqlIdempotencyKeys
    outbox: SqlOutbox

    def bind(self, session: AsyncSession) -> None:
        self.orders = SqlOrderRepository(session)
        self.sagas = SqlSagaRepository(session)
        self.idempotency_keys = SqlIdempotencyKeys(session)
        self.outbox = SqlOutbox(session)

    def wrote_events(self) -> bool:
        return self.outbox.added > 0
