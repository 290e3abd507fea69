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

from typing import Final

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)

# Values of the ``outcome`` label of ``bazaar_upstream_requests_total`` (one count per attempt).
OUTCOME_OK: Final = "ok"
OUTCOME_ERROR: Final = "error"
OUTCOME_TIMEOUT: Final = "timeout"
OUTCOME_REJECTED_OPEN: Final = "rejected_open"
OUTCOME_REJECTED_BULKHEAD: Final = "rejected_bulkhead"
OUTCOME_DEADLINE: Final = "deadline"

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

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of this registry and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def metrics_router() -> APIRouter:
    """``GET /metrics`` in the Prometheus exposition format; never routed by the gateway."""
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def exposition(request: Request) -> Response:
        body, content_type = request.app.state.metrics.render()
        return Response(body, media_type=content_type)

    return router
