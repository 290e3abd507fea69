"""The circuit breaker's state machine on a fake clock, and the bulkhead's fail-fast slots."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from chassis.bulkhead import Bulkhead, BulkheadFull
from chassis.circuit_breaker import CircuitBreaker, CircuitOpen
from chassis.metrics import ServiceMetrics
from chassis.upstream_errors import UpstreamUnavailable


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _breaker(clock: FakeClock, **kwargs: float) -> CircuitBreaker:
    options: dict[str, float] = {
        "failure_ratio": 0.5,
        "window_seconds": 10.0,
        "min_calls": 4,
        "open_seconds": 30.0,
    }
    options.update(kwargs)
    return CircuitBreaker("payments", clock=clock, **options)  # type: ignore[arg-type]


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure()


def _open(breaker: CircuitBreaker) -> None:
    _fail(breaker, breaker.min_calls)
    assert breaker.state == "open"


def test_it_stays_closed_below_the_minimum_volume_however_bad(clock: FakeClock) -> None:
    breaker = _breaker(clock)

    _fail(breaker, 3)

    assert breaker.state == "closed"
    assert breaker.allow()


def test_it_opens_once_the_failure_ratio_is_reached_with_enough_calls(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record_success()
    _fail(breaker, 2)
    assert breaker.state == "closed"  # 2 of 5 failed: 40% < 50%

    _fail(breaker, 1)  # 3 of 6: 50%

    assert breaker.state == "open"
    assert not breaker.allow()


def test_successes_keep_it_closed(clock: FakeClock) -> None:
    breaker = _breaker(clock, failure_ratio=0.5)
    for _ in range(30):
        breaker.record_success()
        breaker.record_success()
        breaker.record_failure()  # one in three fail

    assert breaker.state == "closed"


def test_failures_that_left_the_window_do_not_count(clock: FakeClock) -> None:
    breaker = _breaker(clock, window_seconds=10.0, min_calls=4)
    _fail(breaker, 3)
    clock.advance(11.0)  # the three failures age out

    _fail(breaker, 3)

    assert breaker.state == "closed"
    _fail(breaker, 1)
    assert breaker.state == "open"


def test_the_window_rolls_by_buckets_not_all_at_once(clock: FakeClock) -> None:
    breaker = _breaker(clock, window_seconds=10.0, min_calls=4)
    _fail(breaker, 2)
    clock.advance(6.0)
    _fail(breaker, 1)
    clock.advance(5.0)  # the first two are 11 s old, the third 5 s

    _fail(breaker, 2)  # 3 failures in the window: below min_calls

    assert breaker.state == "closed"
    _fail(breaker, 1)
    assert breaker.state == "open"


def test_open_refuses_until_open_seconds_then_half_opens(clock: FakeClock) -> None:
    breaker = _breaker(clock, open_seconds=30.0)
    _open(breaker)

    clock.advance(29.9)
    assert not breaker.allow()
    assert breaker.seconds_until_half_open() == pytest.approx(0.1)

    clock.advance(0.1)
    assert breaker.allow()
    assert breaker.state == "half_open"


def test_a_successful_probe_closes_it_with_a_fresh_window(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(30.0)
    assert breaker.allow()

    breaker.record_success()

    assert breaker.state == "closed"
    _fail(breaker, 3)  # the failures that opened it are forgotten
    assert breaker.state == "closed"


def test_a_failed_probe_opens_it_again_for_another_open_seconds(clock: FakeClock) -> None:
    breaker = _breaker(clock, open_seconds=30.0)
    _open(breaker)
    clock.advance(30.0)
    assert breaker.allow()

    breaker.record_failure()

    assert breaker.state == "open"
    clock.advance(29.0)
    assert not breaker.allow()
    clock.advance(1.0)
    assert breaker.allow()


def test_half_open_lets_only_its_probe_slots_through(clock: FakeClock) -> None:
    breaker = _breaker(clock, half_open_calls=2)
    _open(breaker)
    clock.advance(30.0)

    allowed = [breaker.allow() for _ in range(5)]

    assert allowed == [True, True, False, False, False]
    breaker.record_success()
    assert breaker.state == "half_open"  # two successes are needed to close
    assert breaker.allow()  # the finished probe's slot is free again...
    assert not breaker.allow()  # ...but only that one: two are out
    breaker.record_success()
    assert breaker.state == "closed"


def test_a_released_probe_slot_can_be_taken_again(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(30.0)
    assert breaker.allow()
    assert not breaker.allow()

    breaker.release()  # e.g. the probe's caller was cancelled

    assert breaker.state == "half_open"
    assert breaker.allow()


def test_late_outcomes_while_open_change_nothing(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    _open(breaker)

    breaker.record_success()
    breaker.record_failure()

    assert breaker.state == "open"
    assert breaker.seconds_until_half_open() == pytest.approx(30.0)


def test_every_transition_is_counted_logged_and_shown_in_the_gauge(clock: FakeClock) -> None:
    metrics = ServiceMetrics(service="orders")
    breaker = CircuitBreaker(
        "payments", min_calls=2, open_seconds=5.0, clock=clock, metrics=metrics
    )

    def state() -> float | None:
        labels = {"upstream": "payments"}
        return metrics.registry.get_sample_value("bazaar_circuit_breaker_state", labels)

    assert state() == 0

    with capture_logs() as logs:
        _fail(breaker, 2)
        assert state() == 2
        clock.advance(5.0)
        assert breaker.allow()
        assert state() == 1
        breaker.record_success()
        assert state() == 0

    changes = [
        (e["from_state"], e["to_state"])
        for e in logs
        if e["event"] == "circuit_breaker_state_changed"
    ]
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert all(e["upstream"] == "payments" for e in logs)
    for to_state in ("open", "half_open", "closed"):
        labels = {"upstream": "payments", "to_state": to_state}
        value = metrics.registry.get_sample_value(
            "bazaar_circuit_breaker_transitions_total", labels
        )
        assert value == 1


def test_circuit_open_is_an_upstream_unavailable() -> None:
    error = CircuitOpen("payments", "circuit breaker open")

    assert isinstance(error, UpstreamUnavailable)
    assert error.upstream == "payments"


@pytest.mark.parametrize(
    "options",
    [{"failure_ratio": 0.0}, {"failure_ratio": 1.5}, {"min_calls": 0}, {"window_seconds": 0}],
)
def test_nonsense_settings_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must be|bad"):
        CircuitBreaker("x", **options)  # type: ignore[arg-type]


async def test_a_full_bulkhead_fails_fast_without_waiting() -> None:
    bulkhead = Bulkhead("products", max_concurrent=2)

    async with bulkhead.slot(), bulkhead.slot():
        assert bulkhead.in_use == 2
        with pytest.raises(BulkheadFull, match="products"):
            async with bulkhead.slot():
                pytest.fail("a third slot must not be handed out")

    async with bulkhead.slot():  # slots come back when their holders leave
        assert bulkhead.in_use == 1
    assert bulkhead.in_use == 0


async def test_a_waiting_caller_gets_the_slot_a_holder_gives_back() -> None:
    bulkhead = Bulkhead("products", max_concurrent=1, max_wait_seconds=30.0)
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with bulkhead.slot():
            holding.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await holding.wait()

    async def waiter() -> str:
        async with bulkhead.slot():
            return "got it"

    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)  # let the waiter queue up
    assert not waiting.done()
    release.set()

    assert await waiting == "got it"
    await task


async def test_a_waiting_caller_gives_up_after_max_wait() -> None:
    bulkhead = Bulkhead("products", max_concurrent=1, max_wait_seconds=0.01)

    async with bulkhead.slot():
        with pytest.raises(BulkheadFull):
            async with bulkhead.slot():
                pytest.fail("no slot was free")

    assert bulkhead.in_use == 0


def test_bulkhead_full_is_an_upstream_unavailable() -> None:
    assert issubclass(BulkheadFull, UpstreamUnavailable)
