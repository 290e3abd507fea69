"""Admission control: a bounded number of requests run, a few wait briefly, the rest are shed.

Shedding happens before the body is read or any work is done, so under overload a refused
request costs almost nothing and the admitted ones keep their latency. The counter is a
semaphore with a FIFO of waiters (one future per queued request, no tasks): a released slot is
handed straight to the oldest waiter, so a newcomer cannot overtake the queue.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import PROBLEM_JSON
from .logs import get_logger
from .metrics import ServiceMetrics

_log = get_logger(__name__)
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})
OVERLOADED_TYPE = "https://bazaar.dev/problems/overloaded"


class ThrottledLog:
    """At most one line per ``interval`` seconds per key, carrying how many events it stands
    for, so that an overload does not turn into a logging storm (the metrics count each one)."""

    def __init__(
        self, event: str, *, interval: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.event = event
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def record(self, key: str, **fields: Any) -> bool:
        """Counts one occurrence; returns True when a line was written for it."""
        count = self._unlogged.get(key, 0) + 1
        now = self.clock()
        if now - self._last.get(key, float("-inf")) < self.interval:
            self._unlogged[key] = count
            return False
        self._last[key] = now
        self._unlogged[key] = 0
        _log.warning(self.event, count=count, **fields)
        return True


class AdmissionControl:
    """Pure ASGI: at most ``max_inflight`` requests run at once; others wait up to
    ``max_queue_seconds`` for a slot, else get 503 problem+json with ``Retry-After: 1``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_inflight: int,
        max_queue_seconds: float,
        metrics: ServiceMetrics | None = None,
        exempt_paths: frozenset[str] = EXEMPT_PATHS,
        retry_after_seconds: int = 1,
    ) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        if max_queue_seconds < 0:
            raise ValueError("max_queue_seconds must not be negative")
        self.app = app
        self.max_inflight = max_inflight
        self.max_queue_seconds = max_queue_seconds
        self.metrics = metrics
        self.exempt_paths = exempt_paths
        self.inflight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._abandoned = 0  # waiters that gave up but are still in the deque
        self._shed_log = ThrottledLog("request_shed")
        body = orjson.dumps(
            {
                "type": OVERLOADED_TYPE,
                "title": "Service Unavailable",
                "status": 503,
                "detail": "The service is overloaded; retry shortly.",
            }
        )
        self._shed_start = {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after_seconds).encode()),
            ],
        }
        self._shed_body = {"type": "http.response.body", "body": body}

    @property
    def queued(self) -> int:
        """Requests waiting for a slot right now (a diagnostic: it walks the queue)."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        if self.inflight < self.max_inflight and not self._waiters:
            self.inflight += 1
        elif self.max_queue_seconds <= 0:
            await self._shed(send, "inflight")
            return
        elif not await self._wait_for_slot():
            await self._shed(send, "queue_timeout")
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _wait_for_slot(self) -> bool:
        """True once a slot was handed over; False when none came within the queue time."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.max_queue_seconds):
                await waiter
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            # The client went away while queued: give back a slot handed over meanwhile.
            if waiter.done() and not waiter.cancelled():
                self._release()
            else:
                self._abandon(waiter)
            raise
        if waiter.done() and not waiter.cancelled():
            return True  # handed over, possibly in the same instant the timeout fired
        self._abandon(waiter)
        return False

    def _abandon(self, waiter: asyncio.Future[None]) -> None:
        waiter.cancel()
        self._abandoned += 1
        # Released slots skip abandoned waiters; compacting keeps the deque bounded even when
        # nothing is released for a while (all slots stuck on a slow dependency).
        if self._abandoned > 64 and self._abandoned * 2 > len(self._waiters):
            self._waiters = deque(w for w in self._waiters if not w.done())
            self._abandoned = 0

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if waiter.done():
                self._abandoned = max(self._abandoned - 1, 0)
                continue
            waiter.set_result(None)  # the slot passes on: inflight stays the same
            return
        self.inflight -= 1

    async def _shed(self, send: Send, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.requests_shed.labels(reason=reason).inc()
        self._shed_log.record(reason, reason=reason)
        await send(self._shed_start)
        await send(self._shed_body)
