"""Calling other services: a pooled aiohttp session per upstream (never httpx: DESIGN.md §7).

Every call has a timeout, bounded further by the caller's deadline (which is sent on as
``X-Request-Deadline-Ms``), and carries the caller's request id. Per client (= per upstream):
a :class:`~chassis.circuit_breaker.CircuitBreaker` (an open one refuses calls at once, no
network), a :class:`~chassis.bulkhead.Bulkhead` (bounded concurrency, fail fast) and a
:class:`~chassis.retry.RetryBudget`. Retries happen only where safe (idempotent methods,
``idempotent=True``, or an ``Idempotency-Key`` header), on connection errors, timeouts, 500,
502, 503, 504 and 429 (honouring ``Retry-After`` up to the backoff cap), with full-jitter
backoff; every attempt's outcome counts toward the breaker (4xx other than 429 are successes:
the upstream is working). Why the retry loop is hand-written: see :mod:`chassis.retry`.

When retries run out the caller gets what the last attempt got: its 5xx/429 response, or its
:class:`UpstreamUnavailable`. Connection failures and timeouts become ``UpstreamUnavailable``,
so callers handle "the other side is down" in one place.

    UpstreamError
    └── UpstreamUnavailable          could not connect, or no answer in time
        ├── CircuitOpen              the breaker is open: nothing was sent
        ├── BulkheadFull             too many calls in flight: nothing was sent
        └── UpstreamDeadlineExceeded the caller's deadline ran out (before or during the call)
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from opentelemetry.trace import SpanKind, Status, StatusCode

from .bulkhead import Bulkhead, BulkheadFull
from .circuit_breaker import CircuitBreaker, CircuitOpen
from .deadlines import DEADLINE_HEADER, call_budget, header_value, remaining
from .faults import current_faults, upstream_fault_check
from .logs import get_logger
from .metrics import ServiceMetrics
from .request_ids import REQUEST_ID_HEADER, current_request_id
from .resilience_settings import ResilienceSettings
from .retry import RETRYABLE_STATUSES, RetryBudget, RetryPolicy, retry_after_seconds, retry_allowed
from .tracing import current_tracing
from .upstream_errors import UpstreamError, UpstreamUnavailable

__all__ = [
    "BulkheadFull",
    "CircuitOpen",
    "ServiceClient",
    "UpstreamDeadlineExceeded",
    "UpstreamError",
    "UpstreamPolicy",
    "UpstreamResponse",
    "UpstreamUnavailable",
]


class UpstreamDeadlineExceeded(UpstreamUnavailable):
    """The caller's deadline left no time for (the rest of) the call."""


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class UpstreamPolicy:
    """How a client protects itself and its upstream; defaults are the reference design's."""

    failure_ratio: float = 0.5
    window_seconds: float = 10.0
    min_calls: int = 10
    open_seconds: float = 30.0
    half_open_calls: int = 1
    max_attempts: int = 3
    backoff_base_seconds: float = 0.05
    backoff_cap_seconds: float = 1.0
    budget_ratio: float = 0.2
    budget_min_per_second: float = 5.0
    max_concurrent: int = 64
    max_wait_seconds: float = 1.0

    @classmethod
    def from_settings(cls, settings: ResilienceSettings) -> UpstreamPolicy:
        return cls(
            failure_ratio=settings.breaker_failure_ratio,
            window_seconds=settings.breaker_window_seconds,
            min_calls=settings.breaker_min_calls,
            open_seconds=settings.breaker_open_seconds,
            max_attempts=settings.retry_max_attempts,
            budget_ratio=settings.retry_budget_ratio,
            max_concurrent=settings.bulkhead_max_concurrent,
            max_wait_seconds=settings.bulkhead_max_wait_seconds,
        )


class ServiceClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout_seconds: float = 3.0,
        max_connections: int = 100,
        policy: UpstreamPolicy | None = None,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.max_connections = max_connections
        self.policy = policy = policy or UpstreamPolicy()
        self.metrics = metrics
        self._faults = current_faults()
        self._tracing = current_tracing()
        self.breaker = CircuitBreaker(
            name,
            failure_ratio=policy.failure_ratio,
            window_seconds=policy.window_seconds,
            min_calls=policy.min_calls,
            open_seconds=policy.open_seconds,
            half_open_calls=policy.half_open_calls,
            metrics=metrics,
        )
        self.bulkhead = Bulkhead(name, policy.max_concurrent, policy.max_wait_seconds)
        self.budget = RetryBudget(policy.budget_ratio, policy.budget_min_per_second)
        self.retry_policy = RetryPolicy(
            policy.max_attempts, policy.backoff_base_seconds, policy.backoff_cap_seconds
        )
        self._session: aiohttp.ClientSession | None = None

    def _ensure_session(self) -> aiohttp.ClientSession:
        # Built lazily so the session binds to the running event loop, not the import-time one.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=30),
                timeout=self.timeout,
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
        idempotent: bool | None = None,
    ) -> UpstreamResponse:
        """One logical call, made in up to ``policy.max_attempts`` attempts when retrying is
        safe. ``idempotent=True`` declares a POST safe to repeat (keyed by the caller);
        ``False`` forbids retries even for a GET."""
        sent_headers = {k: v for k, v in (headers or {}).items() if k.lower() != DEADLINE_HEADER}
        request_id = current_request_id()
        if request_id:
            sent_headers.setdefault(REQUEST_ID_HEADER, request_id)
        data: bytes | None = None
        if json is not None:
            data = orjson.dumps(json)
            sent_headers.setdefault("content-type", "application/json")
        may_retry = retry_allowed(method, sent_headers, idempotent)
        timeout = timeout_seconds or self.timeout_seconds
        self.budget.record_request()
        last: UpstreamResponse | UpstreamUnavailable | None = None
        attempt = 1
        while True:
            try:
                response = await self._attempt(method, path, data, params, sent_headers, timeout)
            except (CircuitOpen, BulkheadFull, UpstreamDeadlineExceeded):
                if last is None:
                    raise
                return _last(last)  # refused on a retry: the caller gets the previous outcome
            except UpstreamUnavailable as exc:
                last, asked_delay = exc, None
            else:
                if response.status not in RETRYABLE_STATUSES:
                    return response
                last, asked_delay = response, retry_after_seconds(response.headers)
            if not may_retry or attempt >= self.retry_policy.max_attempts:
                return _last(last)
            delay = self._delay(attempt, asked_delay)
            if delay is None:
                return _last(last)
            if not self.budget.try_spend():
                if self.metrics is not None:
                    self.metrics.upstream_retries_denied.labels(upstream=self.name).inc()
                _log().info("retry_denied", upstream=self.name, method=method, path=path)
                return _last(last)
            attempt += 1
            if self.metrics is not None:
                self.metrics.upstream_retries.labels(upstream=self.name).inc()
            _log().info(
                "upstream_retry", upstream=self.name, attempt=attempt, delay=round(delay, 4)
            )
            await asyncio.sleep(delay)

    def _delay(self, failed_attempt: int, asked: float | None) -> float | None:
        """The wait before the next attempt, or None when there should be no next attempt."""
        delay = self.retry_policy.backoff(failed_attempt)
        if asked is not None:
            if asked > self.retry_policy.cap_seconds:
                return None  # the server wants longer than we wait: don't retry early
            delay = max(delay, asked)
        left = remaining()
        if left is not None and left <= delay:
            return None  # no time for another attempt after the wait
        return delay

    async def _attempt(
        self,
        method: str,
        path: str,
        data: bytes | None,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        call_timeout: float,
    ) -> UpstreamResponse:
        budget, deadline_bound = call_budget(call_timeout)
        if budget <= 0:
            self._count("deadline")
            raise UpstreamDeadlineExceeded(self.name, f"{method} {path}: deadline already passed")
        if not self.breaker.allow():
            self._count("rejected_open")
            raise CircuitOpen(self.name, f"{method} {path}: circuit breaker open")
        try:
            async with self.bulkhead.slot():
                # Measured after any bulkhead wait, so the callee is told what is really left.
                budget, deadline_bound = call_budget(call_timeout)
                response = await self._send(method, path, data, params, headers, budget)
        except TimeoutError as exc:  # before OSError, which it subclasses
            if deadline_bound:
                self.breaker.release()  # our caller ran out of time; the upstream may be fine
                self._count("deadline")
                raise UpstreamDeadlineExceeded(
                    self.name, f"{method} {path}: the deadline passed before an answer"
                ) from exc
            self.breaker.record_failure()
            self._count("timeout")
            raise UpstreamUnavailable(self.name, f"{method} {path} timed out") from exc
        except BulkheadFull:
            self.breaker.release()
            self._count("rejected_bulkhead")
            raise
        except (aiohttp.ClientError, OSError, UpstreamUnavailable) as exc:
            self.breaker.record_failure()
            self._count("error")
            if isinstance(exc, UpstreamUnavailable):
                raise  # e.g. an injected dependency fault
            raise UpstreamUnavailable(self.name, f"{method} {path} failed: {exc}") from exc
        except BaseException:
            self.breaker.release()  # cancelled: no outcome, but give back a half-open probe
            raise
        if response.status in RETRYABLE_STATUSES:
            self.breaker.record_failure()
            self._count("error")
        else:
            self.breaker.record_success()
            self._count("ok")
        return response

    async def _send(
        self,
        method: str,
        path: str,
        data: bytes | None,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        budget: float,
    ) -> UpstreamResponse:
        if budget <= 0:
            raise TimeoutError
        attributes = {
            "http.request.method": method,
            "server.address": self.name,
            "url.path": path,
        }
        with self._tracing.child_span(
            f"{method} {self.name}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            upstream_fault_check(self._faults, self.name)
            sent = {**headers, DEADLINE_HEADER: header_value(budget)}
            self._tracing.inject(sent)
            async with self._ensure_session().request(
                method,
                f"{self.base_url}{path}",
                data=data,
                params=params,
                headers=sent,
                timeout=aiohttp.ClientTimeout(total=budget),
            ) as response:
                body = await response.read()
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status}"))
            return UpstreamResponse(response.status, dict(response.headers), body)

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.upstream_requests.labels(upstream=self.name, outcome=outcome).inc()

    async def get(self, path: str, **kwargs: Any) -> UpstreamResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> UpstreamResponse:
        return await self.request("POST", path, **kwargs)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _log() -> Any:
    # Looked up per event (retries are the exception, not the rule) so that a logging
    # configuration made later, or a test's capture, applies.
    return get_logger(__name__)


def _last(outcome: UpstreamResponse | UpstreamUnavailable) -> UpstreamResponse:
    if isinstance(outcome, UpstreamResponse):
        return outcome
    raise outcome
