"""When to retry an upstream call, how long to wait first, and how many retries we can afford.

* :class:`RetryPolicy`: at most ``max_attempts`` attempts, waiting between them with
  exponential backoff and FULL jitter (a uniform draw in ``[0, min(cap, base * 2**n)]``, so a
  crowd of callers that failed together spreads out instead of retrying in lockstep). The
  draw is tenacity's ``wait_random_exponential``, the maintained implementation of exactly
  that algorithm.
* :class:`RetryBudget`: caps retries to ``ratio`` of the requests over a rolling window plus
  a small reserve (a floor rate), so during an outage retries add at most ~20% load instead
  of multiplying it by ``max_attempts`` (a retry storm). Written here: no maintained Python
  library offers a retry budget (it is a Finagle/Envoy/gRPC idea), and it is a few lines.
* The retry *loop* lives in :class:`chassis.http_client.ServiceClient`, written by hand rather
  than with ``tenacity.AsyncRetrying``: each attempt has to consult the circuit breaker, the
  bulkhead, the caller's deadline (no sleep past it), the budget and the server's
  ``Retry-After``, and give the caller the last *response* when the last attempt got one;
  expressing that as tenacity stop/retry/wait/before-sleep callbacks spread the one decision
  over five places and hid it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

from tenacity import RetryCallState, wait_random_exponential

# Methods whose repetition is harmless by definition (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Answers worth another attempt: the server was overloaded, down or timed out.
RETRYABLE_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
IDEMPOTENCY_KEY_HEADER: Final = "idempotency-key"
# The budget's window is cut into this many buckets; old ones are forgotten whole.
_BUCKETS = 10


class RetryPolicy:
    def __init__(
        self, max_attempts: int = 3, base_seconds: float = 0.05, cap_seconds: float = 1.0
    ) -> None:
        if max_attempts < 1 or base_seconds < 0 or cap_seconds < 0:
            raise ValueError("max_attempts >= 1, base_seconds >= 0 and cap_seconds >= 0")
        self.max_attempts = max_attempts
        self.base_seconds = base_seconds
        self.cap_seconds = cap_seconds
        self._wait = wait_random_exponential(multiplier=base_seconds, max=cap_seconds)

    def backoff(self, failed_attempt: int) -> float:
        """Seconds to wait after attempt number ``failed_attempt`` (1-based) failed:
        uniform in ``[0, min(cap, base * 2 ** (failed_attempt - 1))]``."""
        state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = failed_attempt
        return float(self._wait(state))

    def upper_bound(self, failed_attempt: int) -> float:
        return float(min(self.cap_seconds, self.base_seconds * 2 ** (failed_attempt - 1)))


class RetryBudget:
    """Retries in any ``window_seconds`` are capped at ``ratio`` of the requests made in it
    plus a reserve of ``min_per_second * window_seconds`` (Finagle's retry budget).

    Deposits (one per request) and withdrawals (one per retry) are kept in one-second-ish
    buckets and forgotten when they leave the window, so quiet hours bank nothing beyond the
    reserve and a burst of requests can pay for the retries of that same burst. The budget
    starts with the full reserve, so a quiet service can still retry its first blip.
    """

    def __init__(
        self,
        ratio: float = 0.2,
        min_per_second: float = 5.0,
        *,
        window_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ratio < 0 or min_per_second < 0 or window_seconds <= 0:
            raise ValueError("ratio, min_per_second >= 0 and window_seconds > 0 are required")
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.window_seconds = window_seconds
        self.reserve = min_per_second * window_seconds
        self._clock = clock
        self._bucket_seconds = window_seconds / _BUCKETS
        # [bucket number, requests, retries], oldest first.
        self._buckets: deque[list[int]] = deque()

    @property
    def balance(self) -> float:
        """Retries that could be made now (fractional: each request adds ``ratio``)."""
        self._expire()
        requests = sum(b[1] for b in self._buckets)
        retries = sum(b[2] for b in self._buckets)
        return self.reserve + self.ratio * requests - retries

    def record_request(self) -> None:
        """One call (not one attempt) was made: it earns ``ratio`` of a retry."""
        self._current()[1] += 1

    def try_spend(self) -> bool:
        """Take one retry from the budget; False (and nothing taken) when it is empty."""
        if self.balance < 1.0 - 1e-9:  # so that 5 * 0.2 is one whole retry despite rounding
            return False
        self._current()[2] += 1
        return True

    def _current(self) -> list[int]:
        bucket = self._expire()
        if not self._buckets or self._buckets[-1][0] != bucket:
            self._buckets.append([bucket, 0, 0])
        return self._buckets[-1]

    def _expire(self) -> int:
        bucket = int(self._clock() // self._bucket_seconds)
        while self._buckets and self._buckets[0][0] <= bucket - _BUCKETS:
            self._buckets.popleft()
        return bucket


def retry_allowed(method: str, headers: Mapping[str, str], idempotent: bool | None) -> bool:
    """Safe to send twice? Idempotent methods, or a caller's explicit word, or an
    Idempotency-Key the server deduplicates on. ``idempotent=False`` forbids retries."""
    if idempotent is not None:
        return idempotent
    if method.upper() in IDEMPOTENT_METHODS:
        return True
    return any(name.lower() == IDEMPOTENCY_KEY_HEADER for name in headers)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The server's ``Retry-After`` (delay-seconds or an HTTP date) in seconds, if readable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
