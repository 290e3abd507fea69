"""Per-client token buckets, one set per configured limit (`RATE_LIMITS`).

A limit is `rate` tokens per second into a bucket of `burst` tokens; a request takes one. Routes
without their own entry share the `default` limit, so a client has ONE default bucket for all
those routes and one more bucket per route it calls that has its own entry.

The answer carries the IETF draft headers (draft-ietf-httpapi-ratelimit-headers):
`RateLimit-Limit` (the burst), `RateLimit-Remaining` (whole tokens left) and `RateLimit-Reset`
(seconds until the bucket is full again); a refusal adds `Retry-After` (seconds until one token).
The header tuples are built once per limit and shared, so the hot path allocates nothing for them
but a three-item list.

Memory is bounded: a bucket idle long enough to have refilled is indistinguishable from a new
one, so sweeps drop those (at most once a minute, or when `max_buckets` is reached). If a flood
of distinct clients still fills the table, the oldest buckets go (those clients start afresh:
failing open for a few is better than refusing every newcomer).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from chassis import get_logger
from chassis.admission import ThrottledLog

Header = tuple[bytes, bytes]
Clock = Callable[[], float]
_log = get_logger("bazaar_gateway.rate_limits")
_SWEEP_EVERY_SECONDS = 60.0
# Header values 0..N are built once; larger ones (unusual limits) are formatted per request.
_CACHED_VALUES = 1024


class LimitRule(BaseModel):
    """One `RATE_LIMITS` entry: `rate` requests per second, bursts of up to `burst`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: float = Field(gt=0)
    burst: int = Field(ge=1)


class Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.updated = now


def refill(bucket: Bucket, rate: float, burst: int, now: float) -> float:
    """The bucket's tokens at `now` (capped at the burst), recorded as of `now`."""
    tokens = bucket.tokens + (now - bucket.updated) * rate
    if tokens > burst:
        tokens = float(burst)
    bucket.tokens = tokens
    bucket.updated = now
    return tokens


def _value(number: int) -> bytes:
    return _VALUES[number] if number < _CACHED_VALUES else str(number).encode()


_VALUES = tuple(str(i).encode() for i in range(_CACHED_VALUES))


class Limit:
    """The buckets of one `RATE_LIMITS` entry, keyed by client identity."""

    def __init__(
        self, name: str, rule: LimitRule, *, max_buckets: int, clock: Clock = time.monotonic
    ) -> None:
        self.name = name
        self.rate = rule.rate
        self.burst = rule.burst
        self.max_buckets = max_buckets
        self.clock = clock
        # Seconds for an empty bucket to fill: idle that long, a bucket is as good as new.
        self.refill_seconds = rule.burst / rule.rate
        self.buckets: dict[str, Bucket] = {}
        self._swept = clock()
        self._limit = (b"ratelimit-limit", _value(rule.burst))
        top = min(rule.burst, _CACHED_VALUES - 1)
        self._remaining = tuple((b"ratelimit-remaining", _value(i)) for i in range(top + 1))
        resets = min(math.ceil(self.refill_seconds), _CACHED_VALUES - 1)
        self._reset = tuple((b"ratelimit-reset", _value(i)) for i in range(resets + 1))

    def take(self, client: str) -> tuple[list[Header], int]:
        """Takes a token for `client` if there is one. Returns the headers to answer with and
        0 when allowed, else the seconds to wait (`Retry-After`, already among the headers)."""
        now = self.clock()
        bucket = self.buckets.get(client)
        if bucket is None:
            if len(self.buckets) >= self.max_buckets or now - self._swept > _SWEEP_EVERY_SECONDS:
                self.sweep(now)
            bucket = self.buckets[client] = Bucket(float(self.burst), now)
        # `refill` inlined: this runs for every proxied request.
        tokens = bucket.tokens + (now - bucket.updated) * self.rate
        if tokens > self.burst:
            tokens = float(self.burst)
        bucket.updated = now
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        bucket.tokens = tokens
        headers = [self._limit, self._remaining_header(tokens), self._reset_header(tokens)]
        if allowed:
            return headers, 0
        retry_after = max(1, math.ceil((1.0 - tokens) / self.rate))
        headers.append((b"retry-after", _value(retry_after)))
        return headers, retry_after

    def has_token(self, client: str) -> bool:
        """Whether `client` could take a token now, without taking it."""
        bucket = self.buckets.get(client)
        if bucket is None:
            return True
        return bucket.tokens + (self.clock() - bucket.updated) * self.rate >= 1.0

    def _remaining_header(self, tokens: float) -> Header:
        whole = int(tokens)
        if whole < len(self._remaining):
            return self._remaining[whole]
        return (b"ratelimit-remaining", _value(whole))

    def _reset_header(self, tokens: float) -> Header:
        seconds = math.ceil((self.burst - tokens) / self.rate)
        if seconds < len(self._reset):
            return self._reset[seconds]
        return (b"ratelimit-reset", _value(seconds))

    def sweep(self, now: float) -> None:
        """Drops buckets that have refilled; if still full, the oldest tenth of the rest."""
        self._swept = now
        idle_since = now - self.refill_seconds
        buckets = self.buckets
        for client in [c for c, b in buckets.items() if b.updated <= idle_since]:
            del buckets[client]
        excess = len(buckets) - self.max_buckets * 9 // 10
        if excess > 0:
            # Dicts keep insertion order: the first keys are the longest-tracked clients.
            for client in list(buckets)[:excess]:
                del buckets[client]
            _log.warning("rate_limit_buckets_evicted", limit=self.name, evicted=excess)


class RateLimiter:
    """The configured limits, and which one a route uses."""

    def __init__(
        self,
        rules: dict[str, LimitRule],
        *,
        max_buckets: int = 50_000,
        clock: Clock = time.monotonic,
    ) -> None:
        if "default" not in rules:
            raise ValueError("RATE_LIMITS needs a 'default' entry")
        self.limits = {
            name: Limit(name, rule, max_buckets=max_buckets, clock=clock)
            for name, rule in rules.items()
        }
        self.default = self.limits["default"]
        # One line per route per second at most, carrying how many refusals it stands for.
        self._refusals = ThrottledLog("rate_limited", clock=clock)

    def for_route(self, method: str, template: str) -> Limit:
        """The limit for `METHOD /template`; HEAD uses GET's entry unless it has its own."""
        limit = self.limits.get(f"{method} {template}")
        if limit is None and method == "HEAD":
            limit = self.limits.get(f"GET {template}")
        return limit or self.default

    def log_refusal(self, client: str, route: str) -> None:
        self._refusals.record(route, client=client, route=route)


def route_keys_unknown(rules: dict[str, LimitRule], routes: set[str]) -> list[str]:
    """`RATE_LIMITS` keys that name no routed operation (most likely a typo)."""
    return sorted(k for k in rules if k != "default" and k not in routes)
