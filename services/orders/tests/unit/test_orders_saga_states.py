"""The saga state machine (saga.py): every transition, compensations, deadline, backoff. Pure."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bazaar_orders.domain import RejectionReason
from bazaar_orders.saga import (
    BACKOFF_CAP_SECONDS,
    STEP_FOR,
    TERMINAL_STATES,
    InvalidSagaTransition,
    OrderEffect,
    Refused,
    Saga,
    SagaState,
    Step,
    Succeeded,
    Unavailable,
    backoff_delay,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)
DEADLINE = timedelta(minutes=15)
S = SagaState


def _saga(state: SagaState = S.RESERVING, **changes: object) -> Saga:
    saga = Saga.start(uuid.uuid4(), payment_token="tok_visa", now=T0, deadline=DEADLINE)
    return replace(saga, state=state, **changes)  # type: ignore[arg-type]


def test_a_new_saga_reserves_first_and_is_due_now() -> None:
    saga = Saga.start(uuid.uuid4(), payment_token="tok_mastercard", now=T0, deadline=DEADLINE)

    assert saga.state is S.RESERVING
    assert saga.step is Step.RESERVE
    assert saga.next_attempt_at == T0
    assert saga.deadline_at == T0 + DEADLINE
    assert saga.attempts == 0
    assert saga.payment_token == "tok_mastercard"
    assert not saga.terminal


def test_every_unfinished_state_has_exactly_one_step_and_terminal_states_none() -> None:
    assert set(STEP_FOR) | TERMINAL_STATES == set(SagaState)
    assert not set(STEP_FOR) & TERMINAL_STATES
    for state in TERMINAL_STATES:
        assert _saga(state).step is None
        assert _saga(state).terminal


@pytest.mark.parametrize(
    ("state", "step", "following", "effect"),
    [
        (S.RESERVING, Step.RESERVE, S.AUTHORIZING, OrderEffect.NONE),
        (S.AUTHORIZING, Step.AUTHORIZE, S.CAPTURING, OrderEffect.NONE),
        (S.CAPTURING, Step.CAPTURE, S.DONE, OrderEffect.CONFIRM),
        (S.VOIDING, Step.VOID, S.RELEASING, OrderEffect.NONE),
        (S.RELEASING, Step.RELEASE, S.REJECTED, OrderEffect.REJECT),
        (S.REFUNDING, Step.REFUND, S.RELEASING_CANCELLED, OrderEffect.NONE),
        (S.RELEASING_CANCELLED, Step.RELEASE, S.CANCELLED, OrderEffect.NONE),
    ],
)
def test_success_moves_to_the_next_state_resetting_the_retries(
    state: SagaState, step: Step, following: SagaState, effect: OrderEffect
) -> None:
    saga = _saga(state, attempts=4, last_error="earlier failure")
    later = T0 + timedelta(seconds=3)

    moved, order_effect = saga.after(Succeeded(), later)

    assert saga.step is step
    assert (moved.state, order_effect) == (following, effect)
    assert (moved.attempts, moved.next_attempt_at, moved.last_error) == (0, later, None)


@pytest.mark.parametrize("reason", [RejectionReason.OUT_OF_STOCK, RejectionReason.UNKNOWN_PRODUCT])
def test_a_refused_reservation_rejects_at_once_with_nothing_to_release(
    reason: RejectionReason,
) -> None:
    moved, effect = _saga(S.RESERVING).after(Refused(reason, "no stock"), T0)

    assert moved.state is S.REJECTED
    assert effect is OrderEffect.REJECT
    assert (moved.rejection_reason, moved.rejection_detail) == (reason, "no stock")


def test_a_declined_payment_releases_the_stock_before_rejecting() -> None:
    declined = Refused(RejectionReason.PAYMENT_DECLINED, "card_declined")

    releasing, effect = _saga(S.AUTHORIZING).after(declined, T0)

    assert releasing.state is S.RELEASING
    assert effect is OrderEffect.NONE  # the order stays PENDING until the stock is back
    rejected, effect = releasing.after(Succeeded(), T0)
    assert (rejected.state, effect) == (S.REJECTED, OrderEffect.REJECT)
    # The reason survives the compensation step, for the order and its event.
    assert rejected.rejection_reason is RejectionReason.PAYMENT_DECLINED
    assert rejected.rejection_detail == "card_declined"


@pytest.mark.parametrize(
    "state",
    [S.CAPTURING, S.VOIDING, S.RELEASING, S.REFUNDING, S.RELEASING_CANCELLED],
)
def test_steps_after_the_pivot_and_compensations_cannot_be_refused(state: SagaState) -> None:
    with pytest.raises(InvalidSagaTransition):
        _saga(state).after(Refused(RejectionReason.OUT_OF_STOCK, "?"), T0)


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
@pytest.mark.parametrize(
    "outcome",
    [Succeeded(), Unavailable("down"), Refused(RejectionReason.OUT_OF_STOCK, "?")],
    ids=["succeeded", "unavailable", "refused"],
)
def test_a_finished_saga_takes_no_outcome(
    state: SagaState, outcome: Succeeded | Unavailable | Refused
) -> None:
    with pytest.raises(InvalidSagaTransition):
        _saga(state).after(outcome, T0)


@pytest.mark.parametrize("state", sorted(STEP_FOR))
def test_unavailable_before_the_deadline_retries_the_same_step_later(state: SagaState) -> None:
    saga = _saga(state, attempts=2)
    now = T0 + timedelta(seconds=10)

    retry, effect = saga.after(Unavailable("payments: connection refused"), now, random.Random(7))

    assert retry.state is state
    assert effect is OrderEffect.NONE
    assert retry.attempts == 3
    assert now <= retry.next_attempt_at <= now + timedelta(seconds=BACKOFF_CAP_SECONDS)
    assert retry.last_error == "payments: connection refused"
    assert retry.rejection_reason is None


@pytest.mark.parametrize(
    ("state", "compensation"), [(S.RESERVING, S.RELEASING), (S.AUTHORIZING, S.VOIDING)]
)
def test_past_the_deadline_before_the_pivot_compensates_as_timed_out(
    state: SagaState, compensation: SagaState
) -> None:
    saga = _saga(state, attempts=9)
    at_deadline = saga.deadline_at

    assert saga.past_deadline(at_deadline - timedelta(microseconds=1)) is None
    started = saga.past_deadline(at_deadline)
    assert started is not None
    assert started.state is compensation
    assert started.rejection_reason is RejectionReason.TIMED_OUT
    assert started.attempts == 0
    # The same happens when a failing step notices the deadline has passed.
    moved, effect = saga.after(Unavailable("down"), at_deadline)
    assert (moved.state, effect) == (compensation, OrderEffect.NONE)
    assert moved.rejection_reason is RejectionReason.TIMED_OUT


def test_a_timed_out_authorization_voids_then_releases_then_rejects() -> None:
    voiding = _saga(S.AUTHORIZING).past_deadline(T0 + DEADLINE)
    assert voiding is not None

    releasing, _ = voiding.after(Succeeded(), T0 + DEADLINE)
    rejected, effect = releasing.after(Succeeded(), T0 + DEADLINE)

    assert [voiding.state, releasing.state, rejected.state] == [
        S.VOIDING,
        S.RELEASING,
        S.REJECTED,
    ]
    assert effect is OrderEffect.REJECT
    assert rejected.rejection_reason is RejectionReason.TIMED_OUT


@pytest.mark.parametrize(
    "state", [S.CAPTURING, S.VOIDING, S.RELEASING, S.REFUNDING, S.RELEASING_CANCELLED]
)
def test_past_the_pivot_and_in_compensation_the_deadline_never_gives_up(
    state: SagaState,
) -> None:
    long_after = T0 + DEADLINE * 10
    saga = _saga(state)

    assert saga.past_deadline(long_after) is None
    retry, _ = saga.after(Unavailable("down"), long_after)
    assert retry.state is state
    assert retry.attempts == 1


def test_only_a_done_saga_can_be_cancelled_and_that_refunds_first() -> None:
    refunding = _saga(S.DONE).cancel(T0)

    assert refunding.state is S.REFUNDING
    assert refunding.next_attempt_at == T0
    for state in set(SagaState) - {S.DONE}:
        with pytest.raises(InvalidSagaTransition):
            _saga(state).cancel(T0)


def test_a_legacy_cancellation_only_releases() -> None:
    saga = Saga.legacy_cancellation(uuid.uuid4(), now=T0)

    assert saga.state is S.RELEASING_CANCELLED
    assert saga.step is Step.RELEASE
    assert saga.after(Succeeded(), T0)[0].state is S.CANCELLED


def test_backoff_is_full_jitter_under_a_growing_ceiling_capped() -> None:
    rng = random.Random(1)
    for attempts, ceiling in [(0, 0.5), (1, 1.0), (3, 4.0), (6, BACKOFF_CAP_SECONDS)]:
        delays = [backoff_delay(attempts, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the whole range, not a fixed delay
    assert backoff_delay(10_000, rng) <= BACKOFF_CAP_SECONDS
