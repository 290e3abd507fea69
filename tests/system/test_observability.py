"""Seeing one order everywhere: its trace in the local store, its trace id in every service's
log, its work in every service's metrics; and injected faults as error spans and counters."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bazaar_local.chaos import Chaos, Faults
from bazaar_local.system import System
from bazaar_local.trace_store import (
    KIND_CLIENT,
    KIND_CONSUMER,
    KIND_PRODUCER,
    KIND_SERVER,
    STATUS_ERROR,
    Span,
    load_trace,
    orphans,
    roots,
)
from bazaar_local.trace_view import render_waterfall

pytestmark = pytest.mark.system

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
Eventually = Callable[..., Awaitable[Any]]
TRACED = ("gateway", "orders", "products", "payments", "notifications")


def body(product: str, token: str = "tok_visa") -> dict[str, object]:
    return {"items": [{"productId": product, "quantity": 1}], "paymentToken": token}


def _complete(spans: list[Span]) -> bool:
    """Every service's part is in (files are written a batch at a time) and nothing dangles."""
    services = {span.service for span in spans}
    return (
        services >= set(TRACED)
        and any(s.kind == KIND_CONSUMER and s.service == "notifications" for s in spans)
        and not orphans(spans)
    )


def _wait_for_trace(
    eventually: Eventually,
    traces: Path,
    trace_id: str,
    complete: Callable[[list[Span]], bool] = _complete,
) -> list[Span]:
    """The trace once `complete` says so (spans are written a batch at a time, per service)."""

    def loaded() -> list[Span] | None:
        spans = load_trace(traces, trace_id)
        return spans if complete(spans) else None

    found: list[Span] = asyncio.run(eventually(loaded))
    return found


def _by_id(spans: list[Span]) -> dict[str, Span]:
    return {span.span_id: span for span in spans}


def _parent(span: Span, spans: dict[str, Span]) -> Span:
    assert span.parent_span_id is not None, span
    return spans[span.parent_span_id]


def test_one_order_is_one_trace_from_the_gateway_to_the_notification(
    shop: System, driver, register, make_product, eventually
) -> None:  # type: ignore[no-untyped-def]
    me = register()
    product = make_product(inventory=5)

    async def place() -> tuple[str, str]:
        [placed] = await driver.place([(me, body(product))])
        assert placed.status_code == 202, placed.text
        order_id = str(placed.json()["orderId"])
        done = await driver.wait_terminal([(me, order_id)])
        assert done[order_id]["status"] == "CONFIRMED"
        return placed.headers["x-trace-id"], order_id

    trace_id, order_id = asyncio.run(place())
    spans = _wait_for_trace(eventually, shop.config.traces_dir, trace_id)
    by_id = _by_id(spans)

    # One root, the gateway's, and every other span's parent is in the trace.
    (root,) = roots(spans)
    assert (root.service, root.kind, root.name) == ("gateway", KIND_SERVER, "POST /orders")
    assert orphans(spans) == []
    # The gateway's span is the parent of orders' request span, which carries the order id.
    (placing,) = [s for s in spans if s.service == "orders" and s.kind == KIND_SERVER]
    assert _parent(placing, by_id) is root
    assert placing.attributes["bazaar.order_id"] == order_id
    # The request prices the order, the saga steps reserve and pay: each callee's span is a
    # child of an orders call made by one of those.
    steps = [s for s in spans if s.service == "orders" and s.name.startswith("saga ")]
    assert [s.name for s in sorted(steps, key=lambda s: s.start_ns)] == [
        "saga RESERVING",
        "saga AUTHORIZING",
        "saga CAPTURING",
    ]
    for callee in ("products", "payments"):
        served = [s for s in spans if s.service == callee and s.kind == KIND_SERVER]
        assert served, callee
        for span in served:
            call = _parent(span, by_id)
            assert (call.service, call.kind) == ("orders", KIND_CLIENT)
            assert _parent(call, by_id) in [placing, *steps]
        # ... and the callee's statements are its children.
        assert any(
            s.service == callee and s.attributes.get("db.system.name") == "postgresql"
            for s in spans
        )
    # The broker hop: orders publishes OrderConfirmed, notifications consumes it.
    (published,) = [
        s for s in spans if s.kind == KIND_PRODUCER and s.name.endswith("order.confirmed.v1")
    ]
    assert published.service == "orders"
    assert _parent(published, by_id).name == "saga CAPTURING"
    (consumed,) = [s for s in spans if s.service == "notifications" and s.kind == KIND_CONSUMER]
    assert _parent(consumed, by_id) is published
    assert all(s.status_code != STATUS_ERROR for s in spans)

    # `bazaar trace` shows it: every service, parents before their children.
    waterfall = render_waterfall(spans, width=160)
    for service in TRACED:
        assert service in waterfall
    position = waterfall.index
    assert position("POST /orders") < position("saga RESERVING") < position("saga CAPTURING")
    assert position("saga CAPTURING") < position(published.name) < position(consumed.name)

    # The logs: every service wrote lines of this request under the same trace id.
    traced_lines = _log_lines_with_trace(shop.config.logs_dir, trace_id)
    assert set(TRACED) <= set(traced_lines), sorted(traced_lines)
    for service, lines in traced_lines.items():
        assert all(line["service"] == service and len(line["span_id"]) == 16 for line in lines)


def _log_lines_with_trace(logs: Path, trace_id: str) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for path in logs.glob("*.log"):
        for raw in path.read_text(errors="replace").splitlines():
            if trace_id not in raw:
                continue
            line = json.loads(raw)
            if line.get("trace_id") == trace_id:
                found.setdefault(path.stem, []).append(line)
    return found


def test_a_password_never_reaches_any_log(shop: System, gateway: httpx.Client) -> None:
    password = f"Unmistakable-{time.monotonic_ns()}-secret"
    email = f"careful-{time.monotonic_ns()}@example.com"
    assert gateway.post("/users", json={"email": email, "password": password}).status_code == 201
    assert (
        gateway.post("/auth/token", json={"email": email, "password": password}).status_code == 200
    )
    wrong = gateway.post("/auth/token", json={"email": email, "password": password + "x"})
    assert wrong.status_code == 401
    # A malformed body that echoes the password back in a validation error must not log it.
    bad = gateway.post("/users", json={"email": "not-an-email", "password": password})
    assert bad.status_code == 422
    logs = shop.config.logs_dir
    written = {path.name: path.read_text(errors="replace") for path in logs.glob("*.log")}
    assert "users.log" in written
    assert [name for name, text in written.items() if email in text or password in text] == [
        name for name, text in written.items() if email in text
    ]
    assert not [name for name, text in written.items() if password in text]
    traces = shop.config.traces_dir
    assert not [p.name for p in traces.glob("*.jsonl*") if password in p.read_text()]


def test_every_service_exposes_red_pool_outbox_consumer_and_saga_metrics(
    shop: System, driver, register, make_product, eventually, shop_metrics
) -> None:  # type: ignore[no-untyped-def]
    me = register()
    product = make_product(inventory=20)

    async def place_three() -> None:
        placed = await driver.place([(me, body(product)) for _ in range(3)])
        ids = [(me, str(p.json()["orderId"])) for p in placed]
        await driver.wait_terminal(ids)
        await driver.quiesce()

    asyncio.run(place_three())
    metrics = {name: shop_metrics.read(name) for name in shop.urls()}

    for name in ("gateway", "users", "products", "orders", "payments"):
        assert metrics[name].value("bazaar_http_requests_total") > 0, name
        # Counted per route template, never per concrete path (bounded label values).
        routes = [s.labels["route"] for s in metrics[name].named("bazaar_http_requests_total")]
        assert not [route for route in routes if UUID.search(route)]
        assert metrics[name].value("bazaar_http_request_duration_seconds_count") > 0
        buckets = metrics[name].named("bazaar_http_request_duration_seconds_bucket")
        assert all(sample.value >= 0 for sample in buckets)
    orders = metrics["orders"]
    assert orders.value("bazaar_http_requests_total", route="/orders", status="202") >= 3
    assert metrics["gateway"].value("bazaar_http_requests_total", route="/orders") >= 3
    for name in ("users", "products", "orders", "payments", "notifications"):
        size = metrics[name].value("bazaar_db_pool_size")
        assert size >= 1, name
        assert 0 <= metrics[name].value("bazaar_db_pool_checked_out") <= size, name
    for name in ("orders", "payments", "products"):
        assert metrics[name].value("bazaar_outbox_oldest_pending_seconds") >= 0
        # Quiesced: every event is published. The gauge is sampled (at most once a second).
        asyncio.run(
            eventually(
                lambda name=name: shop_metrics.read(name).value("bazaar_outbox_pending") == 0,
                within=15,
            )
        )
    notifications = metrics["notifications"]
    assert notifications.value("bazaar_consumer_events_total", outcome="applied") >= 3
    assert notifications.named("bazaar_consumer_pending")
    assert notifications.named("bazaar_consumer_redeliveries_total")
    assert orders.value("bazaar_saga_outcomes_total", status="CONFIRMED") >= 3
    assert orders.value("bazaar_saga_steps_total", step="capture", outcome="succeeded") >= 3
    breakers = metrics["gateway"].named("bazaar_circuit_breaker_state")
    assert {s.labels["upstream"] for s in breakers} >= {"orders", "products", "users"}
    assert all(s.value == 0 for s in breakers)  # closed
    assert metrics["gateway"].named("bazaar_requests_shed_total")
    assert metrics["gateway"].named("bazaar_rate_limited_total")
    # The gateway routes the API, never a service's /metrics.
    assert httpx.get(f"{shop.gateway_url}/orders/metrics", timeout=10).status_code in (401, 404)


def test_injected_faults_are_error_spans_and_error_counts(
    resilient_shop: System,
    resilient_driver,
    resilient_register,
    resilient_product,
    chaos: Chaos,
    metrics,
    eventually,
) -> None:  # type: ignore[no-untyped-def]
    product = resilient_product(inventory=10)
    shopper = resilient_register()
    before = metrics.read("payments").value("bazaar_http_requests_total", status="503")

    async def place_during_fault() -> tuple[str, str]:
        await asyncio.to_thread(chaos.set, "payments", Faults(error_rate=1.0, error_status=503))
        try:
            [placed] = await resilient_driver.place([(shopper, body(product))])
            assert placed.status_code == 202, placed.text

            async def failed_once() -> bool:
                now = metrics.read("payments").value("bazaar_http_requests_total", status="503")
                return now > before

            await resilient_driver.eventually(failed_once, what="payments answered 503")
        finally:
            await asyncio.to_thread(chaos.clear, "payments")
        order_id = str(placed.json()["orderId"])
        done = await resilient_driver.wait_terminal([(shopper, order_id)], seconds=120)
        assert done[order_id]["status"] == "CONFIRMED"  # retried once the fault was gone
        return placed.headers["x-trace-id"], order_id

    trace_id, _ = asyncio.run(place_during_fault())
    injected = metrics.read("payments").value("bazaar_faults_injected_total")
    assert injected >= 1
    traces = resilient_shop.config.traces_dir

    def failed_then_finished(spans: list[Span]) -> bool:
        failed = {s.service for s in spans if s.status_code == STATUS_ERROR}
        finished = any(s.name == "saga CAPTURING" for s in spans)
        return {"payments", "orders"} <= failed and finished and not orphans(spans)

    spans = _wait_for_trace(eventually, traces, trace_id, failed_then_finished)
    failed = [s for s in spans if s.status_code == STATUS_ERROR]
    refused = [s for s in failed if s.service == "payments" and s.kind == KIND_SERVER]
    # The fault answers before routing: the span names the path it refused.
    assert {s.attributes["url.path"] for s in refused} == {"/internal/payments"}
    assert {s.attributes["http.response.status_code"] for s in refused} == {503}
    # orders' call that got the 503 failed too; its retry, once the fault was gone, did not.
    calls = [s for s in spans if s.service == "orders" and s.name == "POST payments"]
    assert STATUS_ERROR in {s.status_code for s in calls}
    assert calls[-1].status_code != STATUS_ERROR
    assert "✗" in render_waterfall(spans, width=160)
