"""The SQL unit of work a service subclasses: one session, one transaction.

Each service keeps its own repositories and ports; what is the same everywhere lives here:
opening the transaction, rolling back whatever was not committed, closing the session, and
waking the outbox relay after a commit that wrote events, so they go out at once rather
than at the relay's next poll.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .events import CloudEvent
from .outbox import enqueue


class SqlUnitOfWork:
    """Leaving the ``async with`` block without ``commit()`` rolls everything back.

    Subclasses bind their repositories to the session in :meth:`bind`. Events go to the
    outbox through :meth:`enqueue` (or a repository that reports them in :meth:`wrote_events`).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        on_events_committed: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._on_events_committed = on_events_committed
        self._session: AsyncSession | None = None
        self._enqueued = 0

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None, "the unit of work is used outside its `async with`"
        return self._session

    def bind(self, session: AsyncSession) -> None:
        """Binds the service's repositories to the transaction's session."""

    def wrote_events(self) -> bool:
        """Whether this transaction wrote events to the outbox (the relay is woken for them)."""
        return self._enqueued > 0

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        await self._session.begin()
        self._enqueued = 0
        self.bind(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            await session.rollback()  # a no-op after commit
        finally:
            await session.close()
            self._session = None

    async def enqueue(self, *events: CloudEvent) -> None:
        """Adds ``events`` to the outbox, in this transaction."""
        await enqueue(self.session, *events)
        self._enqueued += len(events)

    async def commit(self) -> None:
        await self.session.commit()
        if self.wrote_events() and self._on_events_committed is not None:
            self._enqueued = 0
            self._on_events_committed()
