"""One pooled aiohttp session per upstream service, round robin over its instances, and the
upstream's own protection: a circuit breaker, a bulkhead and outcome counters."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Mapping, Sequence

import aiohttp
import yarl

from chassis.circuit_breaker import CircuitBreaker
from chassis.metrics import (
    OUTCOME_DEADLINE,
    OUTCOME_ERROR,
    OUTCOME_OK,
    OUTCOME_REJECTED_BULKHEAD,
    OUTCOME_REJECTED_OPEN,
    OUTCOME_TIMEOUT,
    ServiceMetrics,
)

from .settings import Settings

HEALTH_TIMEOUT_SECONDS = 2.0


class Instance:
    """One base URL of a service, pre-split so building a target URL parses nothing."""

    __slots__ = ("authority", "base", "prefix", "scheme")

    def __init__(self, base: str) -> None:
        url = yarl.URL(base)
        self.base = base
        self.scheme = url.scheme
        self.authority = url.raw_authority
        self.prefix = url.raw_path.rstrip("/")

    def url(self, raw_path: str, query_string: str) -> yarl.URL:
        return yarl.URL.build(
            scheme=self.scheme,
            authority=self.authority,
            path=self.prefix + raw_path,
            query_string=query_string,
            encoded=True,
        )


class Outcomes:
    """`bazaar_upstream_requests_total` children for one upstream, bound once (no label lookup
    per request)."""

    __slots__ = ("deadline", "error", "ok", "rejected_bulkhead", "rejected_open", "timeout")

    def __init__(self, metrics: ServiceMetrics, upstream: str) -> None:
        counter = metrics.upstream_requests
        self.ok = counter.labels(upstream, OUTCOME_OK)
        self.error = counter.labels(upstream, OUTCOME_ERROR)
        self.timeout = counter.labels(upstream, OUTCOME_TIMEOUT)
        self.deadline = counter.labels(upstream, OUTCOME_DEADLINE)
        self.rejected_open = counter.labels(upstream, OUTCOME_REJECTED_OPEN)
        self.rejected_bulkhead = counter.labels(upstream, OUTCOME_REJECTED_BULKHEAD)


class Upstream:
    """One service behind the gateway: its instances, session, breaker and bulkhead.

    The bulkhead is a plain counter (`in_flight` against `max_in_flight`, fail fast) rather than
    `chassis.bulkhead.Bulkhead`: same semantics as that one with `max_wait_seconds=0`, but its
    `async with slot()` (a generator context manager around a semaphore) measured ~10 µs of CPU
    per proxied request here, 5% of the whole proxy, where two integer updates do.
    """

    __slots__ = (
        "_cycle",
        "_narrow_below",
        "breaker",
        "connect",
        "default_timeout",
        "in_flight",
        "instances",
        "max_in_flight",
        "name",
        "outcomes",
        "session",
        "sock_connect",
        "sock_read",
    )

    def __init__(
        self,
        name: str,
        bases: Sequence[str],
        session: aiohttp.ClientSession,
        *,
        breaker: CircuitBreaker | None = None,
        max_in_flight: int = 64,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        if not bases:
            raise ValueError(f"upstream {name} has no base URL")
        self.name = name
        self.instances = tuple(Instance(b) for b in bases)
        self.session = session
        self._cycle = itertools.cycle(self.instances)
        self.breaker = breaker or CircuitBreaker(name, metrics=metrics)
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.outcomes = Outcomes(metrics or ServiceMetrics(service="gateway"), name)
        # The session's bounds; a call's own timeout narrows them to its remaining budget.
        timeout = session.timeout
        self.default_timeout = timeout
        self.connect = timeout.connect
        self.sock_connect = timeout.sock_connect
        self.sock_read = timeout.sock_read
        # aiohttp rounds a timeout of `ceil_threshold` s or more up to a whole second, so a
        # budget within a second of the session's own read bound changes nothing: the call
        # keeps the session's timeout object (no allocation, the usual case).
        read = math.inf if timeout.sock_read is None else timeout.sock_read
        self._narrow_below = read - 1.0 if read - 1.0 >= timeout.ceil_threshold else read

    def timeout(self, budget: float) -> aiohttp.ClientTimeout:
        """No single wait of the call (connecting, the first byte, each later chunk) may take
        longer than the `budget` left when it is made.

        Per-wait bounds rather than aiohttp's `total`: a total timer costs a timer handle and a
        task-cancelling context per call, and the per-read bound is re-armed on the connection
        anyway. It is exact for an upstream that hangs, the failure that matters; one that
        trickles its body can run past the deadline by the trickle, and the upstream is told the
        same deadline (X-Request-Deadline-Ms) and stops work at it itself.
        """
        if budget >= self._narrow_below:
            return self.default_timeout
        return aiohttp.ClientTimeout(
            connect=self.connect,
            sock_connect=budget if self.sock_connect is None else min(budget, self.sock_connect),
            sock_read=budget,
        )

    def next_instance(self) -> Instance:
        return next(self._cycle)

    async def check(self) -> str:
        """ "ok" when every instance's `/health` answers 200, else why not (no addresses)."""
        results = await asyncio.gather(*(self._alive(i) for i in self.instances))
        failures = [r for r in results if r is not None]
        if not failures:
            return "ok"
        return f"failed: {len(failures)} of {len(results)} instances: {'; '.join(failures)}"

    async def _alive(self, instance: Instance) -> str | None:
        try:
            async with self.session.get(
                instance.url("/health", ""),
                timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS),
                allow_redirects=False,
            ) as response:
                await response.read()
                return None if response.status == 200 else f"status {response.status}"
        except TimeoutError:
            return "timed out"
        except aiohttp.ClientError as exc:
            return type(exc).__name__

    async def close(self) -> None:
        await self.session.close()


def open_session(settings: Settings) -> aiohttp.ClientSession:
    """Call inside the running loop (the lifespan): the session binds to it."""
    connector = aiohttp.TCPConnector(
        limit=settings.upstream_max_connections,
        limit_per_host=0,
        keepalive_timeout=settings.upstream_keepalive_seconds,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(
            total=None,
            # Bounds waiting for a pooled connection as well as opening one.
            connect=settings.upstream_timeout_seconds,
            sock_connect=settings.upstream_connect_timeout_seconds,
            sock_read=settings.upstream_timeout_seconds,
        ),
        # Bodies pass through as the upstream encoded them.
        auto_decompress=False,
        # A shared session must never replay one client's cookies to another.
        cookie_jar=aiohttp.DummyCookieJar(),
        # Forward the client's headers only, never aiohttp's defaults in their place.
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        raise_for_status=False,
    )


def open_upstreams(
    settings: Settings, services: Mapping[str, Sequence[str]], metrics: ServiceMetrics
) -> dict[str, Upstream]:
    return {
        name: Upstream(
            name,
            bases,
            open_session(settings),
            breaker=CircuitBreaker(
                name,
                failure_ratio=settings.breaker_failure_ratio,
                window_seconds=settings.breaker_window_seconds,
                min_calls=settings.breaker_min_calls,
                open_seconds=settings.breaker_open_seconds,
                metrics=metrics,
            ),
            max_in_flight=settings.bulkhead_max_concurrent,
            metrics=metrics,
        )
        for name, bases in services.items()
    }
