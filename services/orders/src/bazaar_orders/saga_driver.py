"""What sets sagas running in the background: a kick right after a commit (placement, cancel)
and a sweeper that advances every due saga on a timer and once at start-up, which is what
resumes sagas whose runner died (their lease expires) or that are waiting to retry.

Concurrency is bounded, and one order is never advanced twice at once by this process (the
lease keeps other processes out).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from chassis import get_logger

from .ports import UnitOfWorkFactory
from .saga_runner import SagaRunner

_log = get_logger(__name__)


class SagaDriver:
    def __init__(
        self,
        runner: SagaRunner,
        *,
        uow: UnitOfWorkFactory,
        sweep_seconds: float = 1.0,
        concurrency: int = 16,
    ) -> None:
        self.runner = runner
        self._uow = uow
        self._sweep_seconds = sweep_seconds
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False

    def kick(self, order_id: uuid.UUID) -> None:
        """Advance this saga soon, in the background (after the commit that made it due)."""
        if self._stopping or order_id in self._running:
            return
        task = asyncio.create_task(self._advance(order_id), name=f"saga-{order_id}")
        self._running[order_id] = task
        task.add_done_callback(lambda _: self._running.pop(order_id, None))

    async def advance_unless_running(self, order_id: uuid.UUID) -> None:
        """Advances the saga now unless this process is already running it (then its lease
        would refuse the claim anyway: the round trip is saved)."""
        if order_id in self._running:
            return
        await self.runner.advance(order_id)

    async def _advance(self, order_id: uuid.UUID) -> None:
        async with self._slots:
            try:
                await self.runner.advance(order_id)
            except Exception:  # the database is away: the sweeper tries again later
                _log.warning("saga_advance_failed", order_id=str(order_id), exc_info=True)

    async def sweep_once(self) -> int:
        """Starts every due saga (up to a batch); returns how many were started."""
        async with self._uow() as unit:
            due = await unit.sagas.due(limit=self._concurrency * 4)
        started = [order_id for order_id in due if order_id not in self._running]
        for order_id in started:
            self.kick(order_id)
        return len(started)

    async def drain(self) -> None:
        """Waits for the sagas started so far (tests, and a graceful stop)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="saga-sweeper")

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:
                _log.warning("saga_sweep_failed", exc_info=True)
            await asyncio.sleep(self._sweep_seconds)

    async def stop(self) -> None:
        """Stops sweeping, cancels running sagas (their leases are released on the way out;
        a saga interrupted mid-step is resumed from its last committed state)."""
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for task in list(self._running.values()):
            task.cancel()
        await self.drain()
