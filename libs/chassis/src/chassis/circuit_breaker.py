"""A circuit breaker per upstream: stop calling a dependency that is failing, probe it later.

Closed: every call goes through and its outcome lands in a rolling window of time buckets.
When the window holds at least ``min_calls`` outcomes and the failures make up at least
``failure_ratio`` of them, the breaker opens. Open: calls are refused at once (no network)
for ``open_seconds``. Then half-open: up to ``half_open_calls`` probes go through; when that
many succeed it closes (with a fresh window), and any probe failure opens it again.

Written here rather than taken from a library: the maintained Python breakers (pybreaker,
aiobreaker, purgatory, circuitbreaker) trip on N *consecutive* failures; none has a failure
*ratio* over a rolling time window with a minimum volume plus a bounded number of half-open
probes, which is what the reference design asks for. The logic is small and deterministic
(an injectable clock, no tasks, no timers), so it is cheap to test exhaustively.

Not thread-safe; it lives on one event loop like everything else in a service.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from .logs import get_logger
from .metrics import BREAKER_STATE_VALUES, ServiceMetrics
from .upstream_errors import UpstreamUnavailable

State = Literal["closed", "open", "half_open"]
# The window is cut into this many buckets; old buckets fall out whole.
_BUCKETS = 10


class CircuitOpen(UpstreamUnavailable):
    """The breaker refused the call: the upstream was not contacted."""


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_ratio: float = 0.5,
        window_seconds: float = 10.0,
        min_calls: int = 10,
        open_seconds: float = 30.0,
        half_open_calls: int = 1,
        clock: Callable[[], float] = time.monotonic,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        if not 0.0 < failure_ratio <= 1.0:
            raise ValueError("failure_ratio must be in (0, 1]")
        if window_seconds <= 0 or open_seconds < 0 or min_calls < 1 or half_open_calls < 1:
            raise ValueError("bad window_seconds, open_seconds, min_calls or half_open_calls")
        self.name = name
        self.failure_ratio = failure_ratio
        self.window_seconds = window_seconds
        self.min_calls = min_calls
        self.open_seconds = open_seconds
        self.half_open_calls = half_open_calls
        self._clock = clock
        self._metrics = metrics
        self._bucket_seconds = window_seconds / _BUCKETS
        # [bucket number, successes, failures], oldest first.
        self._buckets: deque[list[int]] = deque()
        self._state: State = "closed"
        self._opened_at = 0.0
        self._probes_in_flight = 0
        self._probe_successes = 0
        if metrics is not None:
            metrics.breaker_state.labels(upstream=name).set(BREAKER_STATE_VALUES["closed"])

    @property
    def state(self) -> State:
        return self._state

    def seconds_until_half_open(self) -> float:
        """How long an open breaker still refuses calls (0 when not open): a Retry-After hint."""
        if self._state != "open":
            return 0.0
        return max(0.0, self._opened_at + self.open_seconds - self._clock())

    def allow(self) -> bool:
        """May a call go out now? In half-open this takes a probe slot (freed by record_*)."""
        if self._state == "closed":
            return True
        if self._state == "open":
            if self._clock() - self._opened_at < self.open_seconds:
                return False
            self._transition("half_open")
        if self._probes_in_flight >= self.half_open_calls:
            return False
        self._probes_in_flight += 1
        return True

    def record_success(self) -> None:
        if self._state == "closed":
            self._count(failed=False)
        elif self._state == "half_open" and self._probes_in_flight > 0:
            self._probes_in_flight -= 1
            self._probe_successes += 1
            if self._probe_successes >= self.half_open_calls:
                self._transition("closed")
        # Open: a late answer to a call made before the breaker opened changes nothing.

    def record_failure(self) -> None:
        if self._state == "closed":
            self._count(failed=True)
            successes, failures = self._totals()
            total = successes + failures
            if total >= self.min_calls and failures >= self.failure_ratio * total:
                self._transition("open")
        elif self._state == "half_open" and self._probes_in_flight > 0:
            self._transition("open")

    def release(self) -> None:
        """A call allowed by :meth:`allow` ended without an outcome worth counting (cancelled,
        refused locally, cut by the caller's deadline): give its probe slot back."""
        if self._state == "half_open" and self._probes_in_flight > 0:
            self._probes_in_flight -= 1

    def _count(self, *, failed: bool) -> None:
        bucket = int(self._clock() // self._bucket_seconds)
        self._expire(bucket)
        if not self._buckets or self._buckets[-1][0] != bucket:
            self._buckets.append([bucket, 0, 0])
        self._buckets[-1][2 if failed else 1] += 1

    def _expire(self, current_bucket: int) -> None:
        while self._buckets and self._buckets[0][0] <= current_bucket - _BUCKETS:
            self._buckets.popleft()

    def _totals(self) -> tuple[int, int]:
        self._expire(int(self._clock() // self._bucket_seconds))
        return sum(b[1] for b in self._buckets), sum(b[2] for b in self._buckets)

    def _transition(self, to_state: State) -> None:
        from_state, self._state = self._state, to_state
        self._probes_in_flight = 0
        self._probe_successes = 0
        if to_state == "open":
            self._opened_at = self._clock()
        if to_state == "closed":
            self._buckets.clear()  # the failures that opened it are history now
        if self._metrics is not None:
            self._metrics.breaker_state.labels(upstream=self.name).set(
                BREAKER_STATE_VALUES[to_state]
            )
            self._metrics.breaker_transitions.labels(upstream=self.name, to_state=to_state).inc()
        # A fresh logger each time (transitions are rare) so test captures see the event too.
        get_logger(__name__).warning(
            "circuit_breaker_state_changed",
            upstream=self.name,
            from_state=from_state,
            to_state=to_state,
        )
