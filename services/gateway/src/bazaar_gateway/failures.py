"""The answers when a call fails before the upstream's response reaches the client: problems
that name the service (never its address), or for a catalog read its last good answer.
"""

from __future__ import annotations

import math

from starlette.types import Send

from chassis import PayloadTooLarge, Problem
from chassis.deadlines import DEADLINE_EXCEEDED_TYPE

from .catalog_cache import CatalogRead
from .responses import send_body, send_problem
from .upstreams import Upstream

UNAVAILABLE = "https://bazaar.dev/problems/upstream-unavailable"
TIMEOUT = "https://bazaar.dev/problems/upstream-timeout"
_FALLBACK = (b"x-cache", b"fallback")


def too_large(limit: int) -> Problem:
    return PayloadTooLarge(f"The request body exceeds {limit} bytes.")


def unavailable(service: str, status: int = 502, why: str = "") -> Problem:
    return Problem(
        f"The {service} service is unavailable{why}.",
        status=status,
        type=UNAVAILABLE,
        service=service,
    )


def circuit_open(upstream: Upstream) -> Problem:
    problem = unavailable(upstream.name, 503, " (circuit open: failing fast)")
    problem.headers["Retry-After"] = str(
        max(1, math.ceil(upstream.breaker.seconds_until_half_open()))
    )
    return problem


def timed_out(service: str) -> Problem:
    return Problem(
        f"The {service} service did not answer in time.",
        status=504,
        type=TIMEOUT,
        service=service,
    )


def deadline_passed() -> Problem:
    return Problem(
        "The request's deadline passed before the call could be made.",
        status=504,
        title="Deadline exceeded",
        type=DEADLINE_EXCEEDED_TYPE,
    )


async def answer_failure(
    send: Send,
    problem: Problem,
    instance: str,
    request_id: str,
    extra: list[tuple[bytes, bytes]] | None,
    catalog: CatalogRead | None,
) -> int:
    """The answer when the upstream failed: for a catalog read, its last good answer marked
    `"cached": true` if there is one, else 503; otherwise `problem`."""
    if catalog is not None:
        hit = catalog.cache.get(catalog.key)
        if hit is None:
            if problem.status != 503:
                problem = unavailable(problem.extensions["service"], 503)
        else:
            body, age = hit
            catalog.served.inc()
            catalog.cache.served_log.record(catalog.route, route=catalog.route, age=age)
            headers = [_FALLBACK, (b"age", str(age).encode())]
            if extra:
                headers.extend(extra)
            return await send_body(send, 200, b"application/json", body, request_id, headers)
    return await send_problem(send, problem, instance, request_id, extra)
