"""Admission control: bounded in-flight work, bounded queueing, the excess shed cheaply."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import orjson
import pytest
from starlette.types import Message, Receive, Scope, Send
from structlog.testing import capture_logs

from chassis.admission import OVERLOADED_TYPE, AdmissionControl, ThrottledLog
from chassis.metrics import ServiceMetrics


class SlowApp:
    """``/slow`` holds its request until released; anything else answers at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most_running = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        if scope["path"] == "/slow":
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            try:
                await self.release.wait()
            finally:
                self.running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})


async def eventually(check: Callable[[], bool]) -> None:
    for _ in range(5000):
        if check():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not met")


def shed_count(metrics: ServiceMetrics, reason: str) -> float:
    value = metrics.registry.get_sample_value("bazaar_requests_shed_total", {"reason": reason})
    return value or 0.0


def client_for(app: AdmissionControl) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


def assert_shed(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == OVERLOADED_TYPE
    assert body["status"] == 503


async def test_excess_over_max_inflight_is_shed_at_once_without_a_queue() -> None:
    slow, metrics = SlowApp(), ServiceMetrics(service="test")
    admission = AdmissionControl(slow, max_inflight=2, max_queue_seconds=0, metrics=metrics)
    async with client_for(admission) as client:
        calls = [asyncio.create_task(client.get("/slow")) for _ in range(10)]
        await eventually(lambda: sum(c.done() for c in calls) == 8)
        assert slow.running == 2
        slow.release.set()
        responses = await asyncio.gather(*calls)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 2 + [503] * 8
    for response in responses:
        if response.status_code == 503:
            assert_shed(response)
    assert slow.most_running == 2
    assert shed_count(metrics, "inflight") == 8
    assert admission.inflight == 0


async def test_queued_requests_wait_for_a_slot_and_never_exceed_the_bound() -> None:
    slow, metrics = SlowApp(), ServiceMetrics(service="test")
    admission = AdmissionControl(slow, max_inflight=2, max_queue_seconds=60, metrics=metrics)
    async with client_for(admission) as client:
        calls = [asyncio.create_task(client.get("/slow")) for _ in range(10)]
        await eventually(lambda: slow.running == 2 and admission.queued == 8)
        slow.release.set()
        responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [200] * 10
    assert slow.most_running == 2
    assert shed_count(metrics, "inflight") + shed_count(metrics, "queue_timeout") == 0
    assert admission.inflight == 0
    assert admission.queued == 0


async def test_requests_queued_longer_than_max_queue_seconds_are_shed() -> None:
    slow, metrics = SlowApp(), ServiceMetrics(service="test")
    admission = AdmissionControl(slow, max_inflight=2, max_queue_seconds=0.01, metrics=metrics)
    async with client_for(admission) as client:
        calls = [asyncio.create_task(client.get("/slow")) for _ in range(10)]
        # The two admitted requests hold their slots until all others have given up.
        await eventually(lambda: sum(c.done() for c in calls) == 8)
        slow.release.set()
        responses = await asyncio.gather(*calls)
    assert sorted(r.status_code for r in responses) == [200] * 2 + [503] * 8
    for response in responses:
        if response.status_code == 503:
            assert_shed(response)
    assert shed_count(metrics, "queue_timeout") == 8
    assert shed_count(metrics, "inflight") == 0
    assert admission.queued == 0
    # The slots are free again: a later request is admitted.
    async with client_for(admission) as client:
        assert (await client.get("/fast")).status_code == 200
    assert admission.inflight == 0


async def test_health_ready_and_metrics_are_exempt_when_full() -> None:
    slow = SlowApp()
    admission = AdmissionControl(slow, max_inflight=1, max_queue_seconds=0)
    async with client_for(admission) as client:
        held = asyncio.create_task(client.get("/slow"))
        await eventually(lambda: slow.running == 1)
        assert (await client.get("/other")).status_code == 503
        for path in ("/health", "/ready", "/metrics"):
            assert (await client.get(path)).status_code == 200
        slow.release.set()
        assert (await held).status_code == 200


async def test_shedding_reads_no_body_and_calls_no_app() -> None:
    slow = SlowApp()
    admission = AdmissionControl(slow, max_inflight=1, max_queue_seconds=0)
    async with client_for(admission) as client:
        held = asyncio.create_task(client.get("/slow"))
        await eventually(lambda: slow.running == 1)
        received: list[Message] = []
        sent: list[Message] = []

        async def receive() -> Message:
            received.append({"type": "read"})
            return {"type": "http.request", "body": b"x" * 10_000, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        scope: Scope = {"type": "http", "path": "/slow", "method": "POST", "headers": []}
        await admission(scope, receive, send)
        slow.release.set()
        await held
    assert received == []
    assert slow.most_running == 1
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"1") in sent[0]["headers"]
    assert orjson.loads(sent[1]["body"])["detail"] == "The service is overloaded; retry shortly."


async def test_a_queued_request_whose_client_leaves_gives_up_its_place() -> None:
    slow = SlowApp()
    admission = AdmissionControl(slow, max_inflight=1, max_queue_seconds=60)

    async def nothing() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def record(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    def call(path: str) -> Coroutine[Any, Any, None]:
        return admission({"type": "http", "path": path, "headers": []}, nothing, record)

    first = asyncio.create_task(call("/slow"))
    await eventually(lambda: slow.running == 1)
    leaving = asyncio.create_task(call("/slow"))
    staying = asyncio.create_task(call("/fast"))
    await eventually(lambda: admission.queued == 2)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert admission.queued == 1
    slow.release.set()
    await asyncio.gather(first, staying)
    assert statuses == [200, 200]
    assert admission.inflight == 0
    assert admission.queued == 0


def test_shed_log_lines_are_rate_limited_and_carry_a_count() -> None:
    now = [100.0]
    log = ThrottledLog("request_shed", clock=lambda: now[0])
    with capture_logs() as lines:
        written = [log.record("inflight", reason="inflight") for _ in range(500)]
        now[0] += 0.5
        written.append(log.record("inflight", reason="inflight"))
        written.append(log.record("queue_timeout", reason="queue_timeout"))
        now[0] += 0.6
        written.append(log.record("inflight", reason="inflight"))
    assert written.count(True) == 3
    assert [(line["event"], line["reason"], line["count"]) for line in lines] == [
        ("request_shed", "inflight", 1),
        ("request_shed", "queue_timeout", 1),
        ("request_shed", "inflight", 501),
    ]


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="max_inflight"):
        AdmissionControl(SlowApp(), max_inflight=0, max_queue_seconds=0)
    with pytest.raises(ValueError, match="max_queue_seconds"):
        AdmissionControl(SlowApp(), max_inflight=1, max_queue_seconds=-1)
