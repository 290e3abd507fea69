"""The database a service owns: an async SQLAlchemy engine and session factory over asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .db_tracing import instrument_engine
from .faults import current_faults, install_database_faults
from .settings import DatabaseSettings
from .tracing import current_tracing


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        max_overflow: int = 0,
        pool_pre_ping: bool = False,
        statement_timeout_ms: int = 5000,
        application_name: str = "bazaar",
    ) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=pool_pre_ping,
            connect_args={
                "server_settings": {
                    "application_name": application_name,
                    # A runaway query must not hold a connection (and its locks) forever.
                    "statement_timeout": str(statement_timeout_ms),
                    "idle_in_transaction_session_timeout": str(statement_timeout_ms * 4),
                }
            },
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Injected "database unavailable" faults (off unless the service enables them).
        install_database_faults(self, current_faults())
        tracing = current_tracing()
        if tracing.recording:
            instrument_engine(
                self.engine.sync_engine, tracing, database=self.engine.url.database or ""
            )

    @classmethod
    def from_settings(cls, settings: DatabaseSettings, *, application_name: str) -> Database:
        return cls(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=settings.db_pool_pre_ping,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            application_name=application_name,
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
