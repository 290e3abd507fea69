"""PaymentRepository and UnitOfWork on PostgreSQL, SQLAlchemy Core over asyncpg."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bazaar_payments.domain import OperationKind, Payment, PaymentStatus
from bazaar_payments.tables import payment_operations, payments
from chassis import unit_of_work as chassis_uow


def _payment(row: Row[Any]) -> Payment:
    return Payment(
        payment_id=row.payment_id,
        order_id=row.order_id,
        customer_id=row.customer_id,
        amount=row.amount,
        currency=row.currency,
        payment_token=row.payment_token,
        status=PaymentStatus(row.status),
        decline_reason=row.decline_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlPaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, order_id: uuid.UUID) -> Payment | None:
        row = (
            await self._session.execute(select(payments).where(payments.c.order_id == order_id))
        ).first()
        return _payment(row) if row is not None else None

    async def add_if_absent(self, payment: Payment) -> bool:
        # ON CONFLICT waits for a concurrent insert of the same order id to commit or roll back,
        # so the loser's following read sees the winner's row.
        result = await self._session.execute(
            pg_insert(payments)
            .values(
                payment_id=payment.payment_id,
                order_id=payment.order_id,
                customer_id=payment.customer_id,
                amount=payment.amount,
                currency=payment.currency,
                payment_token=payment.payment_token,
                status=payment.status.value,
                decline_reason=payment.decline_reason,
                created_at=payment.created_at,
                updated_at=payment.updated_at,
            )
            .on_conflict_do_nothing(index_elements=[payments.c.order_id])
            .returning(payments.c.payment_id)
        )
        return result.first() is not None

    async def transition(
        self,
        order_id: uuid.UUID,
        *,
        source: PaymentStatus,
        target: PaymentStatus,
        now: datetime,
    ) -> Payment | None:
        # The status test in WHERE is re-checked after waiting for a concurrent update's row
        # lock, so of two concurrent transitions out of ``source`` exactly one matches.
        row = (
            await self._session.execute(
                update(payments)
                .where(payments.c.order_id == order_id, payments.c.status == source.value)
                .values(status=target.value, updated_at=now)
                .returning(*payments.c)
            )
        ).first()
        return _payment(row) if row is not None else None

    async def record_operation(
        self, payment_id: uuid.UUID, kind: OperationKind, amount: Decimal, now: datetime
    ) -> None:
        await self._session.execute(
            insert(payment_operations).values(
                payment_id=payment_id, kind=kind.value, amount=amount, created_at=now
            )
        )


class SqlUnitOfWork(chassis_uow.SqlUnitOfWork):
    """The payments of one transaction; ``enqueue`` adds events to its outbox.

    ``on_events_committed`` runs after a commit that enqueued events (the outbox relay's
    ``wake``), so they are published at once rather than at the relay's next poll.
    """

    payments: SqlPaymentRepository

    def bind(self, session: AsyncSession) -> None:
        self.payments = SqlPaymentRepository(session)
