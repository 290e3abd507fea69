"""Retry budget on a fake clock, full-jitter backoff bounds, and when a retry is safe."""

from __future__ import annotations

import pytest

from chassis.retry import RetryBudget, RetryPolicy, retry_after_seconds, retry_allowed


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _spend_all(budget: RetryBudget) -> int:
    spent = 0
    while budget.try_spend():
        spent += 1
    return spent


def test_the_budget_starts_with_a_reserve_of_one_window_of_the_floor_rate() -> None:
    budget = RetryBudget(ratio=0.2, min_per_second=5.0, clock=FakeClock())

    assert budget.reserve == 50
    assert _spend_all(budget) == 50
    assert not budget.try_spend()


def test_within_a_window_retries_are_a_ratio_of_the_requests() -> None:
    budget = RetryBudget(ratio=0.2, min_per_second=0.0, clock=FakeClock())

    retries = 0
    for _ in range(1000):
        budget.record_request()
        retries += budget.try_spend()
        retries += budget.try_spend()  # every request tries to retry twice

    assert retries == 200


def test_a_burst_of_requests_pays_for_the_retries_of_that_burst() -> None:
    budget = RetryBudget(ratio=0.2, min_per_second=0.5, clock=FakeClock())
    for _ in range(200):  # 200 calls go out at once, and all of them fail
        budget.record_request()

    assert _spend_all(budget) == 200 * 0.2 + 5  # the ratio plus the reserve


def test_spent_retries_come_back_as_they_leave_the_window_and_nothing_is_banked() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, min_per_second=2.0, window_seconds=10.0, clock=clock)
    assert _spend_all(budget) == 20

    clock.advance(5.0)
    assert _spend_all(budget) == 0
    clock.advance(5.0)  # the retries of the first second have left the window
    assert _spend_all(budget) == 20
    clock.advance(3600.0)  # a quiet hour banks no more than the reserve
    assert _spend_all(budget) == 20
    for _ in range(100):
        budget.record_request()
    clock.advance(10.0)  # and requests from long ago pay for nothing
    assert _spend_all(budget) == 20


def test_retries_are_capped_by_ratio_times_requests_plus_the_floor() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, min_per_second=1.0, clock=clock)
    requests, retries = 0, 0
    for _ in range(500):  # 500 requests over 50 s, each wanting two retries (all failing)
        clock.advance(0.1)
        budget.record_request()
        requests += 1
        retries += sum(budget.try_spend() for _ in range(2))

    ceiling = 0.2 * requests + 1.0 * 50 + budget.reserve
    assert retries <= ceiling
    assert retries >= 0.2 * requests  # the ratio really is available
    assert retries < 2 * requests / 3  # and far below the unbudgeted 1000


def test_a_denied_retry_takes_nothing() -> None:
    budget = RetryBudget(ratio=0.5, min_per_second=0.0, clock=FakeClock())
    budget.record_request()
    assert budget.balance == pytest.approx(0.5)

    assert not budget.try_spend()

    assert budget.balance == pytest.approx(0.5)
    budget.record_request()
    assert budget.try_spend()
    assert budget.balance == pytest.approx(0.0)


def test_the_budget_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="window_seconds"):
        RetryBudget(window_seconds=0)


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6, 8])
def test_backoff_is_full_jitter_between_zero_and_the_capped_exponential(attempt: int) -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=0.05, cap_seconds=1.0)
    ceiling = min(1.0, 0.05 * 2 ** (attempt - 1))
    assert policy.upper_bound(attempt) == pytest.approx(ceiling)

    delays = [policy.backoff(attempt) for _ in range(400)]

    assert all(0.0 <= d <= ceiling for d in delays)
    # Full jitter spreads over the whole range (each bound fails with probability 0.75**400).
    assert min(delays) < ceiling / 4
    assert max(delays) > ceiling * 3 / 4


def test_the_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(
    ("method", "headers", "idempotent", "expected"),
    [
        ("GET", {}, None, True),
        ("HEAD", {}, None, True),
        ("OPTIONS", {}, None, True),
        ("PUT", {}, None, True),
        ("DELETE", {}, None, True),
        ("get", {}, None, True),
        ("POST", {}, None, False),
        ("PATCH", {}, None, False),
        ("POST", {}, True, True),
        ("POST", {"Idempotency-Key": "k1"}, None, True),
        ("POST", {"idempotency-key": "k1"}, None, True),
        ("GET", {}, False, False),
    ],
)
def test_only_safe_requests_may_be_retried(
    method: str, headers: dict[str, str], idempotent: bool | None, expected: bool
) -> None:
    assert retry_allowed(method, headers, idempotent) is expected


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    assert retry_after_seconds({"Retry-After": "2"}) == 2.0
    assert retry_after_seconds({"retry-after": " 0 "}) == 0.0
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # past
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None
