"""A bulkhead: at most N calls to one upstream at a time, so one slow dependency cannot take
every connection, task and socket of the caller with it.

By default (``max_wait_seconds=0``) a call that finds no free slot fails at once with
:class:`BulkheadFull`; with a wait it queues up to that long. An ``asyncio.Semaphore`` does the
counting (no tasks per call); it is the obvious tool, so no library is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .upstream_errors import UpstreamUnavailable


class BulkheadFull(UpstreamUnavailable):
    """No slot was free in time: the upstream was not contacted."""


class Bulkhead:
    def __init__(self, name: str, max_concurrent: int, max_wait_seconds: float = 0.0) -> None:
        if max_concurrent < 1 or max_wait_seconds < 0:
            raise ValueError("max_concurrent >= 1 and max_wait_seconds >= 0 are required")
        self.name = name
        self.max_concurrent = max_concurrent
        self.max_wait_seconds = max_wait_seconds
        self._slots = asyncio.Semaphore(max_concurrent)
        self._in_use = 0

    @property
    def in_use(self) -> int:
        return self._in_use

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        self._in_use += 1
        try:
            yield
        finally:
            self._in_use -= 1
            self._slots.release()

    async def _acquire(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot: returns without suspending
            return
        if self.max_wait_seconds <= 0:
            raise self._full()
        try:
            async with asyncio.timeout(self.max_wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise self._full() from None

    def _full(self) -> BulkheadFull:
        return BulkheadFull(
            self.name, f"{self.max_concurrent} calls already in flight (bulkhead full)"
        )
