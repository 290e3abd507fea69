"""The saga runner over in-memory fakes: every path of an order, retries, deadline, crashes,
leases and cancellation. The fakes count calls and effects, to prove nothing happens twice."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bazaar_orders.domain import (
    OrderStatus,
    RejectionReason,
    RequestedLine,
)
from bazaar_orders.order_events import (
    ORDER_CONFIRMED,
    ORDER_PLACED,
    ORDER_REJECTED,
)
from bazaar_orders.saga import BACKOFF_CAP_SECONDS, SagaState

CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _types(store: Any, order_id: uuid.UUID) -> list[str]:
    return [e.type for e in store.events if e.subject == str(order_id)]


async def test_happy_path_reserves_authorizes_captures_and_confirms(
    stocked: Any, inventory: Any, payments: Any, store: Any, place: Any, make_runner: Any
) -> None:
    mug = stocked("19.99")
    order = await place((mug, 3))

    state = await make_runner().advance(order.order_id)

    assert state is SagaState.DONE
    stored = store.orders[order.order_id]
    assert stored.status is OrderStatus.CONFIRMED
    assert stored.rejection_reason is None
    assert inventory.stock == {mug: 7}
    assert payments.status == {order.order_id: "CAPTURED"}
    assert payments.amounts == {order.order_id: Decimal("59.97")}
    assert payments.effects == [("authorize", order.order_id), ("capture", order.order_id)]
    assert _types(store, order.order_id) == [ORDER_PLACED, ORDER_CONFIRMED]
    confirmed = store.events_of(ORDER_CONFIRMED)[0]
    assert confirmed.data == {
        "orderId": str(order.order_id),
        "customerId": str(CUSTOMER),
        "totalAmount": "59.97",
        "currency": "USD",
    }
    assert store.sagas[order.order_id].lease_owner is None  # released on the way out


async def test_a_finished_saga_is_not_claimed_again(
    stocked: Any, inventory: Any, payments: Any, place: Any, make_runner: Any
) -> None:
    mug = stocked("1.00")
    order = await place((mug, 1))
    await make_runner().advance(order.order_id)

    assert await make_runner("runner-2").advance(order.order_id) is None
    assert len(inventory.reserve_calls) == 1
    assert payments.calls_of("authorize") == 1


@pytest.mark.parametrize(
    ("on_hand", "reason"),
    [(2, RejectionReason.OUT_OF_STOCK), (None, RejectionReason.UNKNOWN_PRODUCT)],
    ids=["out-of-stock", "unknown-to-inventory"],
)
async def test_a_refused_reservation_rejects_with_nothing_to_release_or_pay(
    inventory: Any,
    payments: Any,
    store: Any,
    stocked: Any,
    place: Any,
    make_runner: Any,
    on_hand: int | None,
    reason: RejectionReason,
) -> None:
    mug = stocked("19.99", on_hand)
    order = await place((mug, 3))

    state = await make_runner().advance(order.order_id)

    assert state is SagaState.REJECTED
    stored = store.orders[order.order_id]
    assert (stored.status, stored.rejection_reason) == (OrderStatus.REJECTED, reason)
    assert inventory.release_calls == []
    assert payments.calls == []
    [rejected] = store.events_of(ORDER_REJECTED)
    assert rejected.data["reason"] == reason.value
    assert str(mug) in rejected.data["detail"]


@pytest.mark.parametrize(
    ("token", "why"),
    [("tok_decline", "card_declined"), ("tok_insufficient_funds", "insufficient_funds")],
)
async def test_a_declined_payment_releases_the_stock_then_rejects(
    stocked: Any,
    inventory: Any,
    payments: Any,
    store: Any,
    place: Any,
    make_runner: Any,
    token: str,
    why: str,
) -> None:
    mug = stocked("19.99")
    order = await place((mug, 3), token=token)

    state = await make_runner().advance(order.order_id)

    assert state is SagaState.REJECTED
    stored = store.orders[order.order_id]
    assert stored.status is OrderStatus.REJECTED
    assert stored.rejection_reason is RejectionReason.PAYMENT_DECLINED
    assert inventory.release_calls == [order.order_id]
    assert inventory.stock == {mug: 10}
    assert payments.calls_of("capture") == payments.calls_of("void") == 0
    [rejected] = store.events_of(ORDER_REJECTED)
    assert rejected.data["reason"] == "payment_declined"
    assert why in rejected.data["detail"]


async def test_payments_unavailable_backs_off_and_never_rejects_before_the_deadline(
    stocked: Any,
    inventory: Any,
    payments: Any,
    store: Any,
    clock: Any,
    place: Any,
    make_runner: Any,
) -> None:
    mug = stocked("5.00")
    order = await place((mug, 1))
    payments.unavailable = True
    runner = make_runner()

    for attempt in range(1, 12):
        assert await runner.advance(order.order_id) is SagaState.AUTHORIZING
        saga = store.saga(order.order_id)
        assert saga.attempts == attempt
        assert "connection refused" in (saga.last_error or "")
        wait = saga.next_attempt_at - clock()
        assert timedelta(0) <= wait <= timedelta(seconds=BACKOFF_CAP_SECONDS)
        assert store.orders[order.order_id].status is OrderStatus.PENDING
        # Not due yet: nobody may run it before its backoff is over.
        if wait > timedelta(0):
            assert await runner.advance(order.order_id) is None
        clock.now = saga.next_attempt_at
    assert clock() < saga.deadline_at
    assert payments.calls_of("authorize") == 11

    payments.unavailable = False
    assert await runner.advance(order.order_id) is SagaState.DONE
    assert store.orders[order.order_id].status is OrderStatus.CONFIRMED
    assert inventory.stock == {mug: 9}
    assert inventory.release_calls == []


async def test_past_the_deadline_an_unknown_authorization_is_voided_released_and_rejected(
    stocked: Any,
    inventory: Any,
    payments: Any,
    store: Any,
    clock: Any,
    place: Any,
    make_runner: Any,
) -> None:
    mug = stocked("5.00")
    order = await place((mug, 2))
    # Authorizations land, but their answers never come back: the outcome stays unknown.
    payments.lost_answer = {"authorize"}
    runner = make_runner()
    assert await runner.advance(order.order_id) is SagaState.AUTHORIZING

    clock.now = store.saga(order.order_id).deadline_at
    state = await runner.advance(order.order_id)

    assert state is SagaState.REJECTED
    stored = store.orders[order.order_id]
    assert stored.rejection_reason is RejectionReason.TIMED_OUT
    assert payments.status == {order.order_id: "VOIDED"}
    assert inventory.stock == {mug: 10}
    assert store.events_of(ORDER_REJECTED)[0].data["reason"] == "timed_out"
    assert store.events_of(ORDER_CONFIRMED) == []


async def test_past_the_deadline_while_reserving_releases_and_rejects(
    stocked: Any,
    inventory: Any,
    payments: Any,
    store: Any,
    clock: Any,
    place: Any,
    make_runner: Any,
) -> None:
    mug = stocked("5.00")
    order = await place((mug, 2))
    inventory.reserve_failure = "lost-answer"  # reserved, but we never heard
    runner = make_runner()
    assert await runner.advance(order.order_id) is SagaState.RESERVING

    clock.advance(15 * 60)
    assert await runner.advance(order.order_id) is SagaState.REJECTED

    assert store.orders[order.order_id].rejection_reason is RejectionReason.TIMED_OUT
    assert inventory.release_calls == [order.order_id]
    assert inventory.stock == {mug: 10}
    assert payments.calls == []


async def test_a_compensation_that_fails_is_retried_until_it_succeeds(
    stocked: Any,
    inventory: Any,
    store: Any,
    clock: Any,
    place: Any,
    make_runner: Any,
) -> None:
    mug = stocked("5.00")
    order = await place((mug, 2), token="tok_decline")
    inventory.release_fails = True
    runner = make_runner()

    assert await runner.advance(order.order_id) is SagaState.RELEASING
    clock.advance(3600)  # long past the deadline: compensations never give up
    assert await runner.advance(order.order_id) is SagaState.RELEASING
    assert store.orders[order.order_id].status is OrderStatus.PENDING

    inventory.release_fails = False
    clock.advance(3600)
    assert await runner.advance(order.order_id) is SagaState.REJECTED
    assert inventory.stock == {mug: 10}
    assert store.orders[order.order_id].rejection_reason is RejectionReason.PAYMENT_DECLINED


@pytest.mark.parametrize("crash_after", [1, 2, 3], ids=["reserve", "authorize", "capture"])
async def test_a_crash_between_a_call_and_its_record_is_resumed_without_double_effects(
    stocked: Any,
    inventory: Any,
    payments: Any,
    store: Any,
    clock: Any,
    place: Any,
    make_runner: Any,
    crash_after: int,
) -> None:
    mug = stocked("19.99")
    order = await place((mug, 3))
    # The claim commits, then ``crash_after - 1`` steps are recorded; the next step's call goes
    # out and its record never commits (the process died).
    store.commit_budget = store.commits + crash_after
    with pytest.raises(ConnectionResetError):
        await make_runner("doomed").advance(order.order_id)
    store.commit_budget = None
    assert store.orders[order.order_id].status is OrderStatus.PENDING

    # The dead runner's lease still holds the saga; once it expires another process resumes.
    assert await make_runner("survivor").advance(order.order_id) is None
    clock.advance(31)
    assert await make_runner("survivor").advance(order.order_id) is SagaState.DONE

    assert store.orders[order.order_id].status is OrderStatus.CONFIRMED
    assert inventory.stock == {mug: 7}  # reserved once, however often asked
    assert len(inventory.reserve_calls) == (2 if crash_after == 1 else 1)
    assert payments.effects == [("authorize", order.order_id), ("capture", order.order_id)]
    assert len(store.events_of(ORDER_CONFIRMED)) == 1


class _StealingInventory:
    """Reserves, but meanwhile (as if the lease had expired) another runner takes the saga."""

    def __init__(self, inner: Any, store: Any, thief: Any) -> None:
        self._inner, self._store, self._thief = inner, store, thief

    async def reserve(self, order_id: uuid.UUID, lines: Sequence[RequestedLine]) -> None:
        await self._inner.reserve(order_id, lines)
        self._store.expire_leases()
        await self._thief.advance(order_id)

    async def release(self, order_id: uuid.UUID) -> None:
        await self._inner.release(order_id)


async def test_a_runner_that_lost_its_lease_writes_nothing_more(
    stocked: Any,
    inventory: Any,
    payments: Any,
    store: Any,
    place: Any,
    make_runner: Any,
) -> None:
    mug = stocked("1.00")
    order = await place((mug, 1))
    thief = make_runner("thief")
    slow = make_runner("slow", inventory=_StealingInventory(inventory, store, thief))

    assert await slow.advance(order.order_id) is None  # fenced out when it tried to record

    assert store.orders[order.order_id].status is OrderStatus.CONFIRMED
    assert inventory.stock == {mug: 9}
    assert payments.effects == [("authorize", order.order_id), ("capture", order.order_id)]
    assert _types(store, order.order_id) == [ORDER_PLACED, ORDER_CONFIRMED]
