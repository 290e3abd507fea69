"""Saga rows (with their leases), idempotency keys and the outbox on PostgreSQL.

Leases are judged by the database's clock (``now()``), the one clock every replica shares, so a
replica whose own clock drifts cannot steal a lease early.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bazaar_orders.domain import RejectionReason
from bazaar_orders.ports import IdempotencyRecord
from bazaar_orders.saga import TERMINAL_STATES, Saga, SagaState
from bazaar_orders.tables import idempotency_keys, order_sagas
from chassis import CloudEvent, enqueue

_sagas = order_sagas.c


def _unfinished() -> ColumnElement[bool]:
    return _sagas.state.not_in([state.value for state in TERMINAL_STATES])


def _lease_free() -> ColumnElement[bool]:
    return or_(_sagas.lease_until.is_(None), _sagas.lease_until < func.now())


def _lease_until(seconds: float) -> Any:
    return func.now() + timedelta(seconds=seconds)


def _saga(row: Row[Any]) -> Saga:
    return Saga(
        order_id=row.order_id,
        state=SagaState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        deadline_at=row.deadline_at,
        payment_token=row.payment_token,
        rejection_reason=RejectionReason(row.rejection_reason) if row.rejection_reason else None,
        rejection_detail=row.rejection_detail,
        last_error=row.last_error,
        traceparent=row.traceparent,
    )


def _values(saga: Saga) -> dict[str, Any]:
    return {
        "state": saga.state.value,
        "attempts": saga.attempts,
        "next_attempt_at": saga.next_attempt_at,
        "deadline_at": saga.deadline_at,
        "rejection_reason": saga.rejection_reason,
        "rejection_detail": saga.rejection_detail,
        "last_error": saga.last_error,
        "updated_at": func.now(),
    }


class SqlSagaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, saga: Saga) -> None:
        values = _values(saga) | {
            "order_id": saga.order_id,
            "payment_token": saga.payment_token,
            "traceparent": saga.traceparent,
        }
        await self._session.execute(pg_insert(order_sagas).values(**values))

    async def get(self, order_id: uuid.UUID) -> Saga | None:
        row = (
            await self._session.execute(select(order_sagas).where(_sagas.order_id == order_id))
        ).first()
        return _saga(row) if row else None

    async def claim(self, order_id: uuid.UUID, *, owner: str, lease_seconds: float) -> Saga | None:
        row = (
            await self._session.execute(
                update(order_sagas)
                .where(
                    _sagas.order_id == order_id,
                    _unfinished(),
                    _lease_free(),
                    _sagas.next_attempt_at <= func.now(),
                )
                .values(lease_owner=owner, lease_until=_lease_until(lease_seconds))
                .returning(order_sagas)
            )
        ).first()
        return _saga(row) if row else None

    async def save(self, saga: Saga, *, expected: Saga, owner: str, lease_seconds: float) -> bool:
        result = await self._session.execute(
            update(order_sagas)
            .where(
                _sagas.order_id == saga.order_id,
                _sagas.lease_owner == owner,
                _sagas.state == expected.state.value,
            )
            .values(**_values(saga), lease_until=_lease_until(lease_seconds))
            .returning(_sagas.order_id)
        )
        return result.first() is not None

    async def transition(self, saga: Saga, *, expected: Saga) -> bool:
        result = await self._session.execute(
            update(order_sagas)
            .where(
                _sagas.order_id == saga.order_id,
                _sagas.state == expected.state.value,
                _lease_free(),
            )
            .values(**_values(saga), lease_owner=None, lease_until=None)
            .returning(_sagas.order_id)
        )
        return result.first() is not None

    async def release_lease(self, order_id: uuid.UUID, *, owner: str) -> None:
        await self._session.execute(
            update(order_sagas)
            .where(_sagas.order_id == order_id, _sagas.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    async def due(self, *, limit: int) -> list[uuid.UUID]:
        rows = await self._session.execute(
            select(_sagas.order_id)
            .where(and_(_unfinished(), _sagas.next_attempt_at <= func.now(), _lease_free()))
            .order_by(_sagas.next_attempt_at)
            .limit(limit)
        )
        return list(rows.scalars())


class SqlIdempotencyKeys:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, customer_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
        row = (
            await self._session.execute(
                select(idempotency_keys.c.request_hash, idempotency_keys.c.order_id).where(
                    idempotency_keys.c.customer_id == customer_id, idempotency_keys.c.key == key
                )
            )
        ).first()
        return IdempotencyRecord(row.request_hash, row.order_id) if row else None

    async def add(self, customer_id: uuid.UUID, key: str, record: IdempotencyRecord) -> bool:
        # ON CONFLICT waits for a concurrent insert of the same key to commit or roll back, so
        # False means the other request's order is committed and can be read.
        result = await self._session.execute(
            pg_insert(idempotency_keys)
            .values(
                customer_id=customer_id,
                key=key,
                request_hash=record.request_hash,
                order_id=record.order_id,
            )
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        return result.first() is not None


class SqlOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.added = 0

    async def add(self, *events: CloudEvent) -> None:
        await enqueue(self._session, *events)
        self.added += len(events)
