"""Saga outcomes and steps are counted into the app's metrics, once per transition."""

from __future__ import annotations

import uuid
from typing import Any

from bazaar_orders import services
from bazaar_orders.saga import SagaState
from bazaar_orders.saga_runner import SagaRunner
from chassis.metrics import ServiceMetrics

CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")


async def test_outcomes_by_order_status_and_steps_by_outcome(
    catalog: Any, inventory: Any, payments: Any, store: Any, clock: Any, place: Any
) -> None:
    metrics = ServiceMetrics(service="orders")
    read = metrics.registry.get_sample_value
    runner = SagaRunner(
        uow=store, inventory=inventory, payments=payments, owner="runner-1",
        clock=clock, metrics=metrics,
    )  # fmt: skip
    mug = catalog.add("19.99")
    inventory.stock_up(mug, 10)
    confirmed = await place((mug, 1))
    declined = await place((mug, 1), token="tok_decline")

    assert await runner.advance(confirmed.order_id) is SagaState.DONE
    assert await runner.advance(declined.order_id) is SagaState.REJECTED
    await services.cancel_order(CUSTOMER, confirmed.order_id, uow=store, clock=clock)
    assert await runner.advance(confirmed.order_id) is SagaState.CANCELLED
    assert await runner.advance(confirmed.order_id) is None  # finished: nothing counted

    def outcomes(status: str) -> float | None:
        return read("bazaar_saga_outcomes_total", {"status": status})

    assert (outcomes("CONFIRMED"), outcomes("REJECTED"), outcomes("CANCELLED")) == (1, 1, 1)

    def steps(step: str, outcome: str) -> float | None:
        return read("bazaar_saga_steps_total", {"step": step, "outcome": outcome})

    assert steps("reserve", "succeeded") == 2
    assert steps("authorize", "succeeded") == 1
    assert steps("authorize", "refused") == 1
    assert steps("capture", "succeeded") == 1
    assert steps("refund", "succeeded") == 1
    assert steps("release", "succeeded") == 2  # the rejection's and the cancellation's
