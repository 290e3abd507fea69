"""The user repository on PostgreSQL (SQLAlchemy Core over asyncpg)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chassis import Database

from .domain import EmailTaken, User
from .ports import Transactions, UserRepository
from .tables import EMAIL_UNIQUE_INDEX, users

_UNIQUE_VIOLATION = "23505"


def _is_email_conflict(exc: IntegrityError) -> bool:
    # asyncpg's own exception (the cause of SQLAlchemy's wrapper) names the constraint.
    cause: Any = exc.orig.__cause__ if exc.orig is not None else None
    return (
        getattr(cause, "sqlstate", None) == _UNIQUE_VIOLATION
        and getattr(cause, "constraint_name", None) == EMAIL_UNIQUE_INDEX
    )


def _to_user(row: Any) -> User:
    return User(
        user_id=row.user_id,
        email=row.email,
        password_hash=row.password_hash,
        roles=frozenset(row.roles),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user: User) -> None:
        try:
            await self._session.execute(
                insert(users).values(
                    user_id=user.user_id,
                    email=user.email,
                    password_hash=user.password_hash,
                    roles=sorted(user.roles),
                    created_at=user.created_at,
                    updated_at=user.updated_at,
                )
            )
        except IntegrityError as exc:
            if _is_email_conflict(exc):
                raise EmailTaken() from exc
            raise

    async def get(self, user_id: uuid.UUID) -> User | None:
        result = await self._session.execute(select(users).where(users.c.user_id == user_id))
        row = result.one_or_none()
        return None if row is None else _to_user(row)

    async def get_by_email(self, email: str) -> User | None:
        # lower() on both sides, so the lookup uses the unique index on lower(email).
        result = await self._session.execute(
            select(users).where(func.lower(users.c.email) == func.lower(email.strip()))
        )
        row = result.one_or_none()
        return None if row is None else _to_user(row)

    async def set_roles(self, user_id: uuid.UUID, roles: frozenset[str], at: datetime) -> None:
        await self._session.execute(
            update(users)
            .where(users.c.user_id == user_id)
            .values(roles=sorted(roles), updated_at=at)
        )

    async def replace_password_hash(
        self, user_id: uuid.UUID, old_hash: str, new_hash: str, at: datetime
    ) -> bool:
        result = await self._session.execute(
            update(users)
            .where(users.c.user_id == user_id, users.c.password_hash == old_hash)
            .values(password_hash=new_hash, updated_at=at)
            .returning(users.c.user_id)
        )
        return result.one_or_none() is not None


def sql_transactions(database: Database) -> Transactions:
    def transaction() -> AbstractAsyncContextManager[UserRepository]:
        return _transaction(database)

    return transaction


@asynccontextmanager
async def _transaction(database: Database) -> AsyncIterator[UserRepository]:
    async with database.transaction() as session:
        yield SqlUserRepository(session)
