"""What the gateway does per routed operation besides forwarding it, resolved once at start-up.

For every `METHOD /template` of the route table: its name for metrics and logs, the rate limit
it draws on, its metric children (bound once, so a request does no label lookups), and whether
it is a catalog read with a fallback. Looked up per request by template then method: two dict
lookups on strings whose hashes are cached, nothing allocated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chassis.metrics import ServiceMetrics

from .catalog_cache import is_catalog_read
from .rate_limits import Limit, RateLimiter
from .routes import Operation, RouteTable


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    route: str
    limit: Limit
    limited: Any  # the route's `bazaar_rate_limited_total` child
    fallbacks: Any | None  # its `bazaar_fallbacks_served_total` child, for catalog reads only


class RoutePolicies:
    def __init__(self, table: RouteTable, limiter: RateLimiter, metrics: ServiceMetrics) -> None:
        self._by_template: dict[str, dict[str, RoutePolicy]] = {}
        for method, operation in table.operations():
            route = f"{method} {operation.template}"
            catalog = is_catalog_read(method, operation.service, operation.template)
            policy = RoutePolicy(
                route=route,
                limit=limiter.for_route(method, operation.template),
                limited=metrics.rate_limited.labels(route=route),
                fallbacks=metrics.fallbacks_served.labels(route=route) if catalog else None,
            )
            self._by_template.setdefault(operation.template, {})[method] = policy
        self.routes = frozenset(
            policy.route
            for by_method in self._by_template.values()
            for policy in by_method.values()
        )

    def get(self, method: str, operation: Operation) -> RoutePolicy:
        return self._by_template[operation.template][method]
