"""The overload generator (`bazaar_local.overload`, `bench/overload.py`) against a tiny in-test
server that sheds like a Bazaar service: two requests at a time, the rest 503 + Retry-After."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bazaar_local.overload import (
    NotLoopbackError,
    OverloadConfig,
    OverloadReport,
    percentile,
    run_overload,
)
from bazaar_local.paths import repo_root

SLOTS = 2
WORK_SECONDS = 0.005
MAX_REQUESTS = 3_000


@pytest.fixture
async def shedding_server() -> AsyncIterator[str]:
    inflight = 0

    async def handle(_: web.Request) -> web.Response:
        nonlocal inflight
        if inflight >= SLOTS:
            return web.json_response(
                {"title": "overloaded"}, status=503, headers={"Retry-After": "1"}
            )
        inflight += 1
        try:
            await asyncio.sleep(WORK_SECONDS)
            return web.json_response({"ok": True})
        finally:
            inflight -= 1

    app = web.Application()
    app.router.add_get("/work", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/work"
    finally:
        await runner.cleanup()


def small(url: str) -> OverloadConfig:
    return OverloadConfig(
        url=url, seconds=0.5, capacity_seconds=0.3, connections=SLOTS, max_requests=MAX_REQUESTS
    )


def accounted(report: OverloadReport) -> None:
    assert report.admitted + report.shed + report.errors == report.sent
    assert report.sent <= MAX_REQUESTS


async def test_measures_capacity_then_offers_three_times_it(shedding_server: str) -> None:
    report = await run_overload(small(shedding_server))
    assert report.capacity_rps > 0
    assert report.offered_rps == pytest.approx(report.capacity_rps * 3, rel=0.01)
    assert report.admitted > 0
    assert report.shed > 0  # the excess was refused, not queued
    assert report.shed_without_retry_after == 0
    assert report.errors == 0, report.error_kinds
    assert report.admitted_p50_ms is not None
    assert report.admitted_p99_ms is not None
    assert report.admitted_p50_ms <= report.admitted_p99_ms
    assert report.recovery_ok, report.recovery_statuses
    accounted(report)


async def test_the_request_cap_bounds_the_whole_run(shedding_server: str) -> None:
    config = OverloadConfig(url=shedding_server, seconds=5, capacity_seconds=5, max_requests=50)
    report = await run_overload(config)
    # The capacity phase spent the budget: nothing was left to offer.
    assert report.sent == 0
    assert report.capacity_rps > 0


async def test_the_bench_script_prints_a_json_report(shedding_server: str) -> None:
    script = repo_root() / "bench" / "overload.py"
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), "--url", shedding_server, "--seconds", "0.3",
        "--capacity-seconds", "0.2", "--connections", str(SLOTS),
        "--max-requests", str(MAX_REQUESTS), "--header", "X-Bench: smoke",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["url"] == shedding_server
    for key in ("capacity_rps", "offered_rps", "admitted_p99_ms", "shed", "shed_p99_ms", "errors"):
        assert key in report
    assert report["sent"] == report["admitted"] + report["shed"] + report["errors"]


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:8000/x", "http://example.com/x", "https://bazaar.dev/"]
)
def test_only_loopback_targets_are_accepted(url: str) -> None:
    with pytest.raises(NotLoopbackError):
        OverloadConfig(url=url)


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        OverloadConfig(url="http://127.0.0.1:1/", connections=0)
    with pytest.raises(ValueError, match="duration"):
        OverloadConfig(url="http://127.0.0.1:1/", seconds=0)


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
