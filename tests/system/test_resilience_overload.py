"""Overload: offered ~3x what a service can serve (measured first, on loopback, bounded), it
stays up, refuses the excess with 503 + Retry-After instead of queueing it, keeps serving what
it admits, and answers normally once the load stops, in the same process.

The target is the notifications service's `GET /notifications` (token check + a query), called
directly, with `MAX_INFLIGHT_REQUESTS` lowered so shedding starts early. The figures are printed
(run with `-s`) for the record; they are not asserted (no timing assertions)."""

from __future__ import annotations

import json

import httpx
import pytest

from bazaar_local.overload import OverloadConfig, run_overload
from bazaar_local.system import System

pytestmark = pytest.mark.system

SERVICE = "notifications"


async def test_overload_is_shed_and_the_service_stays_up(
    resilient_shop: System, resilient_register, metrics, knobs
) -> None:  # type: ignore[no-untyped-def]
    shopper = resilient_register()
    base = resilient_shop.urls()[SERVICE]
    process = resilient_shop.processes[SERVICE]
    shed_before = (await metrics.aread(SERVICE)).value("bazaar_requests_shed_total")
    config = OverloadConfig(
        url=f"{base}/notifications",
        headers=shopper.headers,
        capacity_seconds=1.0,
        seconds=2.0,
        # As many as it admits at once: the capacity phase itself is not shed.
        connections=knobs.notifications_max_inflight,
        factor=3.0,
        max_requests=20_000,
        timeout_seconds=15.0,
    )
    report = await run_overload(config)
    print(f"\noverload figures ({SERVICE}): {json.dumps(report.to_json())}")

    assert report.capacity_rps > 0
    assert report.admitted > 0  # it kept serving
    assert report.shed > 0  # and refused the excess
    assert report.shed_without_retry_after == 0
    assert report.errors == 0, report.error_kinds  # no timeouts, resets or other statuses
    assert report.recovery_ok, report.recovery_statuses
    # Same process, never restarted, healthy.
    assert process.poll() is None
    assert resilient_shop.processes[SERVICE] is process
    assert resilient_shop.dead_components() == {}
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (await client.get("/health")).status_code == 200
    shed_after = (await metrics.aread(SERVICE)).value("bazaar_requests_shed_total")
    assert shed_after - shed_before >= report.shed
