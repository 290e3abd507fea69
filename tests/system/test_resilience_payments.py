"""Payments failing: the breaker in orders opens and fails calls fast, orders wait `PENDING`
(not lost, not rejected) and confirm once payments recovers and the breaker closes through
half-open; and while payments is down, retries stay within the retry budget (no retry storm).

All figures come from orders' own `/metrics` (deltas: the system is shared by the module)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bazaar_local.chaos import Chaos, Faults
from bazaar_local.system import System

pytestmark = pytest.mark.system

PAYMENTS = "payments"
STATE = "bazaar_circuit_breaker_state"
TRANSITIONS = "bazaar_circuit_breaker_transitions_total"
REQUESTS = "bazaar_upstream_requests_total"
RETRIES = "bazaar_upstream_retries_total"
CLOSED, OPEN = 0.0, 2.0
# Attempts that reached the network (the others were refused before sending).
SENT_OUTCOMES = ("ok", "error", "timeout")
ALL_OUTCOMES = (*SENT_OUTCOMES, "rejected_open", "rejected_bulkhead", "deadline")


def body(product: str) -> dict[str, object]:
    return {"items": [{"productId": product, "quantity": 1}], "paymentToken": "tok_visa"}


async def statuses(shop: System, orders: list[tuple[object, str]]) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=shop.gateway_url, timeout=30) as client:
        answers = await asyncio.gather(
            *(client.get(f"/orders/{oid}", headers=who.headers) for who, oid in orders)  # type: ignore[attr-defined]
        )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return {a.json()["orderId"]: a.json()["status"] for a in answers}


def payments_counts(samples) -> dict[str, float]:  # type: ignore[no-untyped-def]
    counts = {o: samples.value(REQUESTS, upstream=PAYMENTS, outcome=o) for o in ALL_OUTCOMES}
    counts["retries"] = samples.value(RETRIES, upstream=PAYMENTS)
    return counts


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before.get(key, 0.0) for key in after}


async def test_payments_failing_opens_the_breaker_and_orders_wait_then_confirm(
    resilient_shop: System,
    resilient_driver,
    resilient_register,
    resilient_product,
    chaos: Chaos,
    metrics,
) -> None:  # type: ignore[no-untyped-def]
    product = resilient_product(inventory=50)
    shopper = resilient_register()
    before = await metrics.aread("orders")
    opened_before = before.value(TRANSITIONS, upstream=PAYMENTS, to_state="open")
    closed_before = before.value(TRANSITIONS, upstream=PAYMENTS, to_state="closed")
    fast_before = before.value(REQUESTS, upstream=PAYMENTS, outcome="rejected_open")
    await asyncio.to_thread(chaos.set, PAYMENTS, Faults(error_rate=1.0, error_status=500))

    placed = await resilient_driver.place([(shopper, body(product)) for _ in range(8)])
    assert [r.status_code for r in placed] == [202] * 8, [r.text for r in placed]
    orders = [(shopper, str(r.json()["orderId"])) for r in placed]

    async def open_and_failing_fast() -> bool:
        now = await metrics.aread("orders")
        return (
            now.value(STATE, upstream=PAYMENTS) == OPEN
            and now.value(REQUESTS, upstream=PAYMENTS, outcome="rejected_open") > fast_before
        )

    # Opens within its window, then refuses calls at once, without touching the network.
    await resilient_driver.eventually(
        open_and_failing_fast, seconds=60, what="orders' payments breaker open, failing fast"
    )
    during = await metrics.aread("orders")
    assert during.value(TRANSITIONS, upstream=PAYMENTS, to_state="open") > opened_before
    # Not lost and not rejected for an infrastructure failure: waiting.
    assert set((await statuses(resilient_shop, orders)).values()) == {"PENDING"}

    await asyncio.to_thread(chaos.clear, PAYMENTS)
    done = await resilient_driver.wait_terminal(orders, seconds=180)
    assert {oid: o["status"] for oid, o in done.items()} == {oid: "CONFIRMED" for _, oid in orders}
    after = await metrics.aread("orders")
    # Closed again, and only a half-open probe's success closes an open breaker.
    assert after.value(STATE, upstream=PAYMENTS) == CLOSED
    assert after.value(TRANSITIONS, upstream=PAYMENTS, to_state="half_open") > 0
    assert after.value(TRANSITIONS, upstream=PAYMENTS, to_state="closed") > closed_before


async def test_a_retry_storm_cannot_form_while_payments_is_down(
    resilient_driver,
    resilient_register,
    resilient_product,
    chaos: Chaos,
    metrics,
    knobs,
) -> None:  # type: ignore[no-untyped-def]
    product = resilient_product(inventory=200)
    shoppers = [resilient_register() for _ in range(4)]
    before = payments_counts(await metrics.aread("orders"))
    started = time.monotonic()
    await asyncio.to_thread(chaos.set, PAYMENTS, Faults(error_rate=1.0, error_status=502))

    placed = await resilient_driver.place([(shoppers[i % 4], body(product)) for i in range(40)])
    assert [r.status_code for r in placed] == [202] * 40
    orders = [(shoppers[i % 4], str(r.json()["orderId"])) for i, r in enumerate(placed)]

    def calls(counts: dict[str, float]) -> float:
        # Every attempt is counted once under some outcome; retries are the attempts after
        # a call's first.
        return sum(counts[o] for o in ALL_OUTCOMES) - counts["retries"]

    async def enough_calls() -> bool:
        # Every saga tried to authorize, most more than once (the sagas' own backoff).
        now = delta(payments_counts(await metrics.aread("orders")), before)
        return calls(now) >= 120

    await resilient_driver.eventually(enough_calls, seconds=120, what="sagas calling payments")
    seen = delta(payments_counts(await metrics.aread("orders")), before)
    elapsed = time.monotonic() - started
    made, retries = calls(seen), seen["retries"]
    sent = sum(seen[o] for o in SENT_OUTCOMES)
    allowance = knobs.retry_banked_tokens + knobs.retry_floor_per_second * elapsed
    print(f"\nretry figures over {elapsed:.1f}s: calls {made:.0f}, sent {sent:.0f}, {seen}")
    # The retry budget: ~20% of the calls, plus the banked tokens and the floor rate.
    assert retries <= knobs.retry_budget_ratio * made + allowance, seen
    # So the load on payments is the calls plus at most that (3x without a budget).
    assert sent <= (1 + knobs.retry_budget_ratio) * made + allowance, seen
    # And the breaker refused most calls without sending anything.
    assert seen["rejected_open"] > 0, seen

    await asyncio.to_thread(chaos.clear, PAYMENTS)
    done = await resilient_driver.wait_terminal(orders, seconds=180)
    assert {o["status"] for o in done.values()} == {"CONFIRMED"}
