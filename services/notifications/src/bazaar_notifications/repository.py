"""PostgreSQL adapter for the repository port: SQLAlchemy Core over asyncpg."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from chassis import Database

from .domain import ListPosition, Notification, NotificationKind
from .tables import notifications


class SqlNotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, notification: Notification) -> bool:
        result = await self._session.execute(
            insert(notifications)
            .values(
                notification_id=notification.notification_id,
                customer_id=notification.customer_id,
                order_id=notification.order_id,
                event_id=notification.event_id,
                kind=notification.kind.value,
                message=notification.message,
                created_at=notification.created_at,
            )
            .on_conflict_do_nothing(index_elements=[notifications.c.event_id])
            .returning(notifications.c.notification_id)
        )
        return result.one_or_none() is not None

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, limit: int, after: ListPosition | None
    ) -> list[Notification]:
        query = (
            select(notifications)
            .where(notifications.c.customer_id == customer_id)
            .order_by(notifications.c.created_at.desc(), notifications.c.notification_id.desc())
            .limit(limit)
        )
        if after is not None:
            # A row-value comparison, so PostgreSQL walks the listing index from the position.
            query = query.where(
                tuple_(notifications.c.created_at, notifications.c.notification_id)
                < tuple_(after.created_at, after.notification_id)
            )
        rows = (await self._session.execute(query)).mappings()
        return [
            Notification(
                notification_id=row["notification_id"],
                customer_id=row["customer_id"],
                order_id=row["order_id"],
                event_id=row["event_id"],
                kind=NotificationKind(row["kind"]),
                message=row["message"],
                created_at=row["created_at"],
            )
            for row in rows
        ]


class SqlRepositories:
    """The ``Repositories`` port: each use gets its own transaction."""

    def __init__(self, database: Database) -> None:
        self._database = database

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[SqlNotificationRepository]:
        async with self._database.transaction() as session:
            yield SqlNotificationRepository(session)
