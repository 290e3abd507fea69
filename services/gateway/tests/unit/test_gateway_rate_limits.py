"""Token buckets with an injected clock: the math, the headers, which limit a route uses, and
bounded memory."""

from __future__ import annotations

import pytest

from bazaar_gateway.rate_limits import Limit, LimitRule, RateLimiter, route_keys_unknown


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in headers}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_new_client_has_a_full_burst_then_is_refused(clock: FakeClock) -> None:
    limit = Limit("default", LimitRule(rate=2, burst=3), max_buckets=100, clock=clock)
    answers = [limit.take("10.0.0.1") for _ in range(4)]
    assert [wait for _, wait in answers] == [0, 0, 0, 1]
    assert [_headers(h)["ratelimit-remaining"] for h, _ in answers] == ["2", "1", "0", "0"]
    assert all(_headers(h)["ratelimit-limit"] == "3" for h, _ in answers)
    refused = _headers(answers[3][0])
    # One token takes 0.5 s at 2/s: Retry-After rounds up to whole seconds.
    assert refused["retry-after"] == "1"
    # Empty to full (3 tokens at 2/s) is 1.5 s: rounded up.
    assert refused["ratelimit-reset"] == "2"
    assert "retry-after" not in _headers(answers[0][0])


def test_tokens_refill_at_the_rate_and_never_beyond_the_burst(clock: FakeClock) -> None:
    limit = Limit("default", LimitRule(rate=2, burst=3), max_buckets=100, clock=clock)
    for _ in range(3):
        limit.take("c")
    clock.advance(0.5)  # one token back
    headers, wait = limit.take("c")
    assert wait == 0
    assert _headers(headers)["ratelimit-remaining"] == "0"
    assert limit.take("c")[1] == 1
    clock.advance(3600)  # idle for long: still only a burst's worth
    results = [limit.take("c")[1] for _ in range(4)]
    assert results == [0, 0, 0, 1]


def test_retry_after_is_how_long_one_token_takes(clock: FakeClock) -> None:
    limit = Limit("slow", LimitRule(rate=0.1, burst=1), max_buckets=100, clock=clock)
    assert limit.take("c")[1] == 0
    clock.advance(2.5)
    headers, wait = limit.take("c")
    # 0.25 token there, 0.75 missing at 0.1/s = 7.5 s → 8.
    assert wait == 8
    assert _headers(headers)["retry-after"] == "8"
    assert _headers(headers)["ratelimit-reset"] == "8"


def test_has_token_looks_without_taking(clock: FakeClock) -> None:
    limit = Limit("default", LimitRule(rate=1, burst=1), max_buckets=100, clock=clock)
    assert limit.has_token("new")
    assert "new" not in limit.buckets
    limit.take("c")
    assert not limit.has_token("c")
    clock.advance(1.0)
    assert limit.has_token("c")
    assert limit.has_token("c")  # still there: looking took nothing
    assert limit.take("c")[1] == 0


def test_clients_have_their_own_buckets(clock: FakeClock) -> None:
    limit = Limit("default", LimitRule(rate=1, burst=1), max_buckets=100, clock=clock)
    assert limit.take("a")[1] == 0
    assert limit.take("a")[1] == 1
    assert limit.take("b")[1] == 0


def test_large_values_are_formatted_too(clock: FakeClock) -> None:
    limit = Limit("big", LimitRule(rate=1, burst=5000), max_buckets=100, clock=clock)
    headers = _headers(limit.take("c")[0])
    assert headers["ratelimit-limit"] == "5000"
    assert headers["ratelimit-remaining"] == "4999"
    assert headers["ratelimit-reset"] == "1"


def test_routes_use_their_own_entry_else_the_default() -> None:
    limiter = RateLimiter(
        {
            "default": LimitRule(rate=20, burst=40),
            "POST /auth/token": LimitRule(rate=1, burst=5),
            "GET /products/{productId}": LimitRule(rate=5, burst=5),
        }
    )
    assert limiter.for_route("POST", "/auth/token").name == "POST /auth/token"
    assert limiter.for_route("GET", "/auth/token") is limiter.default
    assert limiter.for_route("POST", "/users") is limiter.default
    # HEAD is a GET without the body: it draws on GET's entry unless it has its own.
    assert limiter.for_route("HEAD", "/products/{productId}").name == "GET /products/{productId}"


def test_a_default_entry_is_required() -> None:
    with pytest.raises(ValueError, match="default"):
        RateLimiter({"POST /auth/token": LimitRule(rate=1, burst=5)})


def test_entries_naming_no_route_are_reported() -> None:
    rules = {"default": LimitRule(rate=1, burst=1), "POST /auth/tokn": LimitRule(rate=1, burst=1)}
    assert route_keys_unknown(rules, {"POST /auth/token"}) == ["POST /auth/tokn"]


def test_idle_buckets_are_swept_once_refilled(clock: FakeClock) -> None:
    limit = Limit("default", LimitRule(rate=1, burst=2), max_buckets=1000, clock=clock)
    for client in ("a", "b", "c"):
        limit.take(client)
    clock.advance(1.0)
    limit.take("c")
    clock.advance(1.5)  # a and b have been idle 2.5 s ≥ 2 s to refill; c only 1.5 s
    limit.sweep(clock())
    assert set(limit.buckets) == {"c"}


def test_a_sweep_runs_by_itself_after_a_minute(clock: FakeClock) -> None:
    limit = Limit("default", LimitRule(rate=1, burst=2), max_buckets=1000, clock=clock)
    limit.take("old")
    clock.advance(61)
    limit.take("new")
    assert set(limit.buckets) == {"new"}


def test_the_table_never_outgrows_max_buckets_even_with_busy_clients(clock: FakeClock) -> None:
    limit = Limit("default", LimitRule(rate=0.001, burst=1), max_buckets=100, clock=clock)
    for i in range(1000):
        limit.take(f"10.0.{i // 256}.{i % 256}")
        assert len(limit.buckets) <= 100
    # The newest client is always tracked (the oldest ones were let go).
    assert "10.0.3.231" in limit.buckets
