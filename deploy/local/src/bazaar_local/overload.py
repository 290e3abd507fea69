"""A bounded overload run on loopback: measure what a service can do, then offer it more.

Phase 1 (capacity, closed loop): `connections` workers each send the next request as soon as
the previous one answered; capacity = successful answers per second.
Phase 2 (overload, open loop): requests are sent on a fixed schedule at `factor` times capacity
whatever the answers do, as real clients would; a service that queues instead of shedding shows
it here as a growing p99. Each latency is measured from the actual send, and requests that
would exceed `max_outstanding` are not sent (counted as `client_skipped`), so the generator's
own memory and sockets stay bounded.
Phase 3 (recovery): a few requests one after another once the load has stopped.

Stops by itself: every phase has a duration and the whole run a request cap. It refuses any
host but loopback. Used by `bench/overload.py` and the system tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SHED_STATUS = 503


class NotLoopbackError(ValueError):
    """The target is not on this machine: this tool only loads loopback addresses."""


@dataclass(frozen=True)
class OverloadConfig:
    url: str
    # Length of the overload phase (the capacity phase takes `capacity_seconds`).
    seconds: float = 5.0
    capacity_seconds: float = 3.0
    # Closed-loop concurrency of the capacity phase.
    connections: int = 16
    # Offered rate in the overload phase, as a multiple of the measured capacity.
    factor: float = 3.0
    # Hard cap on requests over the whole run, whatever the rates.
    max_requests: int = 100_000
    # Open-loop requests in flight at most; beyond it the generator skips rather than queues.
    max_outstanding: int = 1_000
    timeout_seconds: float = 10.0
    recovery_requests: int = 20
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or parts.hostname is None:
            raise ValueError(f"not an http(s) URL: {self.url!r}")
        if parts.hostname not in LOOPBACK_HOSTS:
            raise NotLoopbackError(f"{parts.hostname} is not a loopback address")
        if self.seconds <= 0 or self.capacity_seconds <= 0:
            raise ValueError("phases need a positive duration")
        if self.connections < 1 or self.max_requests < 1 or self.max_outstanding < 1:
            raise ValueError("connections, max_requests and max_outstanding must be positive")


@dataclass
class OverloadReport:
    url: str
    capacity_rps: float
    offered_rps: float
    sent_rps: float
    sent: int
    admitted: int
    admitted_rps: float
    admitted_p50_ms: float | None
    admitted_p99_ms: float | None
    shed: int
    shed_p50_ms: float | None
    shed_p99_ms: float | None
    # 503s without a Retry-After header: shedding done badly.
    shed_without_retry_after: int
    errors: int
    error_kinds: dict[str, int]
    client_skipped: int
    recovery_ok: bool
    recovery_statuses: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Tally:
    admitted_ms: list[float] = field(default_factory=list)
    shed_ms: list[float] = field(default_factory=list)
    shed_without_retry_after: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return len(self.admitted_ms) + len(self.shed_ms) + sum(self.errors.values())


class _Budget:
    """The run's request cap, shared by every phase."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (`q` in 0..100) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1], 2)


async def _one(session: aiohttp.ClientSession, config: OverloadConfig, tally: _Tally) -> None:
    started = time.perf_counter()
    try:
        async with session.request(config.method, config.url, headers=config.headers) as answer:
            await answer.read()
            elapsed_ms = (time.perf_counter() - started) * 1000
            if 200 <= answer.status < 300:
                tally.admitted_ms.append(elapsed_ms)
            elif answer.status == SHED_STATUS:
                tally.shed_ms.append(elapsed_ms)
                if "retry-after" not in answer.headers:
                    tally.shed_without_retry_after += 1
            else:
                tally.errors[f"status_{answer.status}"] += 1
    except TimeoutError:
        tally.errors["timeout"] += 1
    except aiohttp.ClientError as error:
        tally.errors[type(error).__name__] += 1


async def _closed_loop(
    session: aiohttp.ClientSession, config: OverloadConfig, budget: _Budget, seconds: float
) -> tuple[_Tally, float]:
    tally = _Tally()
    start = time.perf_counter()
    end = start + seconds

    async def worker() -> None:
        while time.perf_counter() < end and budget.take():
            await _one(session, config, tally)

    await asyncio.gather(*(worker() for _ in range(config.connections)))
    return tally, time.perf_counter() - start


async def _open_loop(
    session: aiohttp.ClientSession, config: OverloadConfig, budget: _Budget, rate: float
) -> tuple[_Tally, int, int, float]:
    """Sends at `rate` per second for `config.seconds`; returns the tally, how many were sent,
    how many were skipped (too many outstanding), and the elapsed time."""
    tally = _Tally()
    outstanding: set[asyncio.Task[None]] = set()
    sent = skipped = 0
    interval = 1.0 / rate
    start = time.perf_counter()
    end = start + config.seconds
    due = 0  # requests that should have been sent by now
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        target = min(int((now - start) / interval) + 1, math.ceil(config.seconds * rate))
        while due < target:
            due += 1
            if len(outstanding) >= config.max_outstanding:
                skipped += 1
                continue
            if not budget.take():
                end = now  # the run's cap: stop offering
                break
            sent += 1
            task = asyncio.create_task(_one(session, config, tally))
            outstanding.add(task)
            task.add_done_callback(outstanding.discard)
        # Sleep until the next request is due (at least one loop turn, so answers get read).
        await asyncio.sleep(max(0.0, start + due * interval - time.perf_counter()))
    elapsed = time.perf_counter() - start
    if outstanding:
        # Each request has its own timeout; this bound only guards against a stuck client.
        await asyncio.wait(outstanding, timeout=config.timeout_seconds + 1)
    for task in list(outstanding):
        task.cancel()
        tally.errors["unfinished"] += 1
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return tally, sent, skipped, elapsed


async def _recovery(
    session: aiohttp.ClientSession, config: OverloadConfig
) -> tuple[bool, dict[str, int]]:
    statuses: Counter[str] = Counter()
    for _ in range(config.recovery_requests):
        try:
            async with session.request(config.method, config.url, headers=config.headers) as answer:
                await answer.read()
                statuses[str(answer.status)] += 1
        except (TimeoutError, aiohttp.ClientError) as error:
            statuses[type(error).__name__] += 1
    ok = sum(n for status, n in statuses.items() if status.startswith("2"))
    return ok == config.recovery_requests, dict(statuses)


async def run_overload(config: OverloadConfig) -> OverloadReport:
    budget = _Budget(config.max_requests)
    timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)
    connector = aiohttp.TCPConnector(limit=config.max_outstanding + config.connections)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        measured, measured_for = await _closed_loop(
            session, config, budget, config.capacity_seconds
        )
        capacity = len(measured.admitted_ms) / measured_for
        offered = max(capacity * config.factor, 1.0)
        tally, sent, skipped, elapsed = await _open_loop(session, config, budget, offered)
        recovery_ok, recovery_statuses = await _recovery(session, config)
    return OverloadReport(
        url=config.url,
        capacity_rps=round(capacity, 1),
        offered_rps=round(offered, 1),
        sent_rps=round(sent / elapsed, 1),
        sent=sent,
        admitted=len(tally.admitted_ms),
        admitted_rps=round(len(tally.admitted_ms) / elapsed, 1),
        admitted_p50_ms=percentile(tally.admitted_ms, 50),
        admitted_p99_ms=percentile(tally.admitted_ms, 99),
        shed=len(tally.shed_ms),
        shed_p50_ms=percentile(tally.shed_ms, 50),
        shed_p99_ms=percentile(tally.shed_ms, 99),
        shed_without_retry_after=tally.shed_without_retry_after,
        errors=sum(tally.errors.values()),
        error_kinds=dict(tally.errors),
        client_skipped=skipped,
        recovery_ok=recovery_ok,
        recovery_statuses=recovery_statuses,
    )
