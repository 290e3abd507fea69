"""`bazaar top`: rates and percentiles from two scrapes of a real chassis exposition."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from typer.testing import CliRunner

from bazaar_local.cli import app
from bazaar_local.ports import free_port
from bazaar_local.run_lock import acquire_run_lock
from bazaar_local.run_state import ComponentState, RunState, write_state
from bazaar_local.top import Sample, Top, histogram_quantile, parse_exposition, rates
from chassis.metrics import BREAKER_STATE_VALUES, ServiceMetrics


def exposition(metrics: ServiceMetrics) -> str:
    return metrics.render()[0].decode()


@pytest.fixture
def busy_metrics() -> tuple[str, str]:
    """Two scrapes of one service: between them 80 requests, 10 of them 503s."""
    metrics = ServiceMetrics(service="orders")
    for _ in range(10):
        metrics.observe_request("GET", "/orders", 200, 0.003)
    metrics.breaker_state.labels(upstream="payments").set(BREAKER_STATE_VALUES["closed"])
    before = exposition(metrics)
    for _ in range(60):
        metrics.observe_request("GET", "/orders", 200, 0.003)
    for status in (202, 503):
        for _ in range(10):
            metrics.observe_request("POST", "/orders", status, 0.2)
    metrics.requests_shed.labels(reason="inflight").inc(3)
    metrics.requests_shed.labels(reason="deadline").inc(1)
    metrics.rate_limited.labels(route="/orders").inc(2)
    metrics.outbox_pending.set(7)
    metrics.consumer_pending.labels(consumer="orders-payments").set(3)
    metrics.consumer_pending.labels(consumer="orders-products").set(5)
    metrics.breaker_state.labels(upstream="payments").set(BREAKER_STATE_VALUES["open"])
    metrics.breaker_state.labels(upstream="products").set(BREAKER_STATE_VALUES["half_open"])
    return before, exposition(metrics)


def test_rates_come_from_the_difference_of_two_scrapes(busy_metrics: tuple[str, str]) -> None:
    before, after = busy_metrics

    r = rates(parse_exposition(before, at=10.0), parse_exposition(after, at=12.0))

    assert r.requests_per_s == pytest.approx(40.0)
    assert r.server_errors_per_s == pytest.approx(5.0)
    assert r.error_percent == pytest.approx(12.5)
    # 60 of the 80 took 3 ms (bucket 2.5-5 ms), 20 took 200 ms (bucket 100-250 ms): the median
    # is 40/60 into the first bucket, the 99th percentile 19.2/20 into the second.
    assert r.p50_ms == pytest.approx(2.5 + 2.5 * 40 / 60)
    assert r.p99_ms == pytest.approx(100 + 150 * 19.2 / 20)
    assert r.shed_per_s == pytest.approx(2.0)
    assert r.rate_limited_per_s == pytest.approx(1.0)
    assert r.outbox_pending == 7
    assert r.consumer_lag == 8
    assert r.breakers == {"payments": "open", "products": "half-open"}


def test_an_idle_interval_has_no_percentiles(busy_metrics: tuple[str, str]) -> None:
    _, after = busy_metrics

    r = rates(parse_exposition(after, at=0.0), parse_exposition(after, at=1.0))

    assert r.requests_per_s == 0
    assert r.error_percent is None
    assert r.p50_ms is None
    assert r.p99_ms is None


def test_a_restarted_service_counts_from_zero(busy_metrics: tuple[str, str]) -> None:
    _, after = busy_metrics
    restarted = ServiceMetrics(service="orders")
    for _ in range(4):
        restarted.observe_request("GET", "/orders", 500, 0.03)

    r = rates(parse_exposition(after, at=0.0), parse_exposition(exposition(restarted), at=2.0))

    assert r.requests_per_s == pytest.approx(2.0)
    assert r.error_percent == pytest.approx(100.0)
    assert r.p50_ms == pytest.approx(25 + 25 * 2 / 4)
    assert r.outbox_pending == 0  # the new process has not sampled its outbox yet
    assert r.consumer_lag is None  # nor made its consumers (a labelled gauge has no series)


def test_histogram_quantile_follows_prometheus() -> None:
    inf = math.inf
    assert histogram_quantile(0.5, []) is None
    assert histogram_quantile(0.5, [(1.0, 0.0), (inf, 0.0)]) is None
    assert histogram_quantile(0.5, [(1.0, 4.0), (inf, 4.0)]) == pytest.approx(0.5)
    # Beyond the last finite bound: that bound, as no better estimate exists.
    assert histogram_quantile(0.99, [(1.0, 1.0), (2.0, 1.0), (inf, 10.0)]) == 2.0
    # Empty buckets on the way do not divide by zero.
    assert histogram_quantile(0.5, [(1.0, 0.0), (2.0, 0.0), (4.0, 2.0), (inf, 2.0)]) == 3.0


def test_a_service_that_does_not_answer_is_down_and_the_others_go_on(
    busy_metrics: tuple[str, str],
) -> None:
    before, after = busy_metrics
    texts = {1: [before, after], 2: []}
    now = iter([0.0, 0.5, 1.0, 1.5])

    def fetch(port: int, timeout: float) -> str:
        if not texts[port]:
            raise ConnectionRefusedError("connection refused")
        return texts[port].pop(0)

    top = Top({"orders": 1, "payments": 2}, fetch=fetch, clock=lambda: next(now))

    first = top.refresh()
    second = top.refresh()

    assert [(row.name, row.up, row.rates) for row in first] == [
        ("orders", True, None),  # no rates before a second scrape
        ("payments", False, None),
    ]
    assert "refused" in first[1].problem
    orders, payments = second
    assert orders.rates is not None
    assert orders.rates.requests_per_s == pytest.approx(80 / 0.5)
    assert not payments.up


def test_garbage_on_metrics_is_a_down_service_not_a_crash() -> None:
    top = Top({"orders": 1}, fetch=lambda port, timeout: "this is { not prometheus")

    (row,) = top.refresh()

    assert not row.up
    assert row.problem


@pytest.fixture
async def served_metrics() -> AsyncIterator[tuple[ServiceMetrics, int]]:
    """A real chassis exposition on /metrics of a tiny server on loopback."""
    metrics = ServiceMetrics(service="orders")

    async def handler(_request: web.Request) -> web.Response:
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"content-type": content_type})

    application = web.Application()
    application.router.add_get("/metrics", handler)
    runner = web.AppRunner(application)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield metrics, port
    finally:
        await runner.cleanup()


async def test_top_shows_every_service_of_the_running_system(
    served_metrics: tuple[ServiceMetrics, int], tmp_path: Path
) -> None:
    metrics, port = served_metrics
    metrics.outbox_pending.set(7)
    metrics.breaker_state.labels(upstream="payments").set(BREAKER_STATE_VALUES["open"])
    components = [
        ComponentState(name="postgres", pid=None, port=free_port(), url="", log=""),
        ComponentState(name="orders", pid=None, port=port, url="", log=""),
        ComponentState(name="users", pid=None, port=free_port(), url="", log=""),  # nobody
    ]
    write_state(tmp_path, RunState(launcher_pid=1, data_dir=str(tmp_path), components=components))
    args = ["top", "--count", "2", "--interval", "0.05", "--data-dir", str(tmp_path)]

    with acquire_run_lock(tmp_path):  # as `bazaar up` holds it
        # In a thread: the command blocks, and the server answers on this test's loop.
        result = await asyncio.to_thread(CliRunner().invoke, app, args)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    headers = [line for line in lines if line.startswith("service")]
    assert len(headers) == 2  # one table per refresh, plain text when not on a terminal
    orders = next(line for line in lines if line.startswith("orders"))
    users = next(line for line in lines if line.startswith("users"))
    assert orders.split()[:3] == ["orders", "up", "0.0"]  # nothing was served meanwhile
    assert orders.split()[-4:] == ["7", "-", "payments", "open"]
    assert users.split()[:2] == ["users", "down"]
    assert not any(line.startswith("postgres") for line in lines)


def test_top_refuses_when_bazaar_is_not_running(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["top", "--count", "1", "--data-dir", str(tmp_path)])

    assert result.exit_code == 1
    assert "not running" in result.output


def test_the_sample_of_nothing_is_empty() -> None:
    assert parse_exposition("", at=1.0) == Sample(at=1.0)
