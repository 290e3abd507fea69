"""Prometheus metrics for the resilience machinery, one registry per app.

A private :class:`~prometheus_client.CollectorRegistry` per :class:`ServiceMetrics` (rather than
the process-global default) so that tests and in-process multi-app setups can build as many as
they like without "duplicated timeseries" errors. The lead puts one at ``app.state.metrics``;
the gateway builds its own. The families are shared: the client, breaker and deadline code
(chassis) count into some, admission control, fault injection and the gateway into others.

The structured log events that go with them use these names: ``circuit_breaker_state_changed``,
``request_shed``, ``upstream_retry``, ``retry_denied``, ``rate_limited``, ``fault_injected``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from .db import Database

# Values of the ``outcome`` label of ``bazaar_upstream_requests_total`` (one count per attempt).
OUTCOME_OK: Final = "ok"
OUTCOME_ERROR: Final = "error"
OUTCOME_TIMEOUT: Final = "timeout"
OUTCOME_REJECTED_OPEN: Final = "rejected_open"
OUTCOME_REJECTED_BULKHEAD: Final = "rejected_bulkhead"
OUTCOME_DEADLINE: Final = "deadline"

# The ``route`` label of a request no route matched (404s for unknown paths): one series for
# all of them, so scanners cannot blow up the label cardinality.
ROUTE_UNMATCHED: Final = "unmatched"
# 1 ms to 10 s: the span between a cached read and a request that hits its deadline.
DURATION_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

# Values of ``bazaar_circuit_breaker_state``.
BREAKER_STATE_VALUES: Final = {"closed": 0, "half_open": 1, "open": 2}


class ServiceMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, *, service: str) -> None:
        self.service = service
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.upstream_requests = Counter(
            "bazaar_upstream_requests_total",
            "Attempts to call an upstream service, by outcome.",
            ["upstream", "outcome"],
            registry=r,
        )
        self.upstream_retries = Counter(
            "bazaar_upstream_retries_total",
            "Retries of upstream calls (attempts after the first).",
            ["upstream"],
            registry=r,
        )
        self.upstream_retries_denied = Counter(
            "bazaar_upstream_retries_denied_total",
            "Retries not made because the retry budget was exhausted.",
            ["upstream"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "bazaar_circuit_breaker_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            ["upstream"],
            registry=r,
        )
        self.breaker_transitions = Counter(
            "bazaar_circuit_breaker_transitions_total",
            "Circuit breaker state changes, by the state entered.",
            ["upstream", "to_state"],
            registry=r,
        )
        self.requests_shed = Counter(
            "bazaar_requests_shed_total",
            "Requests refused before doing any work (inflight, queue_timeout, deadline).",
            ["reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "bazaar_rate_limited_total",
            "Requests refused with 429 by a rate limit.",
            ["route"],
            registry=r,
        )
        self.faults_injected = Counter(
            "bazaar_faults_injected_total",
            "Faults injected on purpose (fault injection enabled).",
            ["kind"],
            registry=r,
        )
        self.fallbacks_served = Counter(
            "bazaar_fallbacks_served_total",
            "Answers served from a fallback because the upstream failed.",
            ["route"],
            registry=r,
        )

        self.http_requests = Counter(
            "bazaar_http_requests_total",
            "Requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_request_duration = Histogram(
            "bazaar_http_request_duration_seconds",
            "Time to serve a request, by method and route template.",
            ["method", "route"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.outbox_pending = Gauge(
            "bazaar_outbox_pending",
            "Outbox events not yet published (sampled after each relay pass).",
            registry=r,
        )
        self.outbox_oldest_pending = Gauge(
            "bazaar_outbox_oldest_pending_seconds",
            "Age of the oldest unpublished outbox event; 0 when none is pending.",
            registry=r,
        )
        self.consumer_pending = Gauge(
            "bazaar_consumer_pending",
            "Messages in the stream not yet delivered to the consumer (its lag).",
            ["consumer"],
            registry=r,
        )
        self.consumer_redeliveries = Counter(
            "bazaar_consumer_redeliveries_total",
            "Deliveries of a message after its first.",
            ["consumer"],
            registry=r,
        )
        self.consumer_events = Counter(
            "bazaar_consumer_events_total",
            "Deliveries handled, by outcome: applied, duplicate, retry, dead_lettered.",
            ["consumer", "outcome"],
            registry=r,
        )
        self.saga_outcomes = Counter(
            "bazaar_saga_outcomes_total",
            "Sagas finished, by the order status they ended in.",
            ["status"],
            registry=r,
        )
        self.saga_steps = Counter(
            "bazaar_saga_steps_total",
            "Saga steps run, by step and outcome: succeeded, refused, unavailable.",
            ["step", "outcome"],
            registry=r,
        )
        self._pools = _PoolCollector()
        r.register(self._pools)
        # Label children bound once per (method, route[, status]): a request then costs two
        # dict lookups rather than a ``labels()`` call (which validates and locks) per family.
        self._request_counters: dict[tuple[str, str, int], Counter] = {}
        self._request_timers: dict[tuple[str, str], Histogram] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        counter = self._request_counters.get((method, route, status))
        if counter is None:
            counter = self.http_requests.labels(method=method, route=route, status=str(status))
            self._request_counters[(method, route, status)] = counter
        timer = self._request_timers.get((method, route))
        if timer is None:
            timer = self.http_request_duration.labels(method=method, route=route)
            self._request_timers[(method, route)] = timer
        counter.inc()
        timer.observe(seconds)

    def watch_database(self, database: Database) -> None:
        """Exposes the connection pool's usage, read at scrape time."""
        self._pools.databases.append(database)

    def unwatch_database(self, database: Database) -> None:
        if database in self._pools.databases:
            self._pools.databases.remove(database)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of this registry and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _PoolCollector(Collector):
    """Pool gauges sampled when scraped, so nothing is paid per checkout."""

    def __init__(self) -> None:
        self.databases: list[Database] = []

    def collect(self) -> Iterator[Metric]:
        checked_out = GaugeMetricFamily(
            "bazaar_db_pool_checked_out", "Database connections in use right now."
        )
        size = GaugeMetricFamily(
            "bazaar_db_pool_size", "Database connections the pool keeps (excluding overflow)."
        )
        in_use, kept = 0, 0
        for database in self.databases:
            pool = database.engine.pool
            # Pools without counts (NullPool, in some tests) add nothing.
            in_use += int(getattr(pool, "checkedout", lambda: 0)())
            kept += int(getattr(pool, "size", lambda: 0)())
        checked_out.add_metric([], in_use)
        size.add_metric([], kept)
        yield checked_out
        yield size

    def describe(self) -> Iterator[Metric]:
        # Without this the registry calls collect() at registration to learn the names.
        return iter(())


def metrics_router() -> APIRouter:
    """``GET /metrics`` in the Prometheus exposition format; never routed by the gateway."""
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def exposition(request: Request) -> Response:
        body, content_type = request.app.state.metrics.render()
        return Response(body, media_type=content_type)

    return router
