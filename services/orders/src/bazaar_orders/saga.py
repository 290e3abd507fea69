"""The order saga as a pure state machine (DESIGN.md §3): which step runs in each state, where a
step's outcome leads, and what compensation follows a failure. No I/O, no clock of its own.

    RESERVING ─ok─► AUTHORIZING ─ok─► CAPTURING ─ok─► DONE            (order CONFIRMED)
        │ refused        │ declined
        ▼                ▼
    REJECTED ◄─ok─ RELEASING ◄─ok─ VOIDING                          (order REJECTED)
       ▲ (nothing held)   ▲ deadline      ▲ deadline (authorize outcome unknown)
       │                  └── RESERVING   └── AUTHORIZING
    DONE ─cancel─► REFUNDING ─ok─► RELEASING_CANCELLED ─ok─► CANCELLED  (order CANCELLED)

Authorization is the pivot: before it every effect can be compensated and the deadline applies;
after it (CAPTURING) the saga only moves forward, retrying until capture succeeds. Compensation
steps never give up either: release, void and refund are idempotent and must happen.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .domain import RejectionReason

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0


class SagaState(StrEnum):
    RESERVING = "RESERVING"
    AUTHORIZING = "AUTHORIZING"
    CAPTURING = "CAPTURING"
    VOIDING = "VOIDING"
    RELEASING = "RELEASING"
    REFUNDING = "REFUNDING"
    RELEASING_CANCELLED = "RELEASING_CANCELLED"
    DONE = "DONE"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


TERMINAL_STATES = frozenset({SagaState.DONE, SagaState.REJECTED, SagaState.CANCELLED})
# Before the pivot (authorization) a saga past its deadline compensates instead of retrying.
_ON_DEADLINE = {SagaState.RESERVING: SagaState.RELEASING, SagaState.AUTHORIZING: SagaState.VOIDING}


class Step(StrEnum):
    RESERVE = "reserve"
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    RELEASE = "release"
    REFUND = "refund"


STEP_FOR: dict[SagaState, Step] = {
    SagaState.RESERVING: Step.RESERVE,
    SagaState.AUTHORIZING: Step.AUTHORIZE,
    SagaState.CAPTURING: Step.CAPTURE,
    SagaState.VOIDING: Step.VOID,
    SagaState.RELEASING: Step.RELEASE,
    SagaState.REFUNDING: Step.REFUND,
    SagaState.RELEASING_CANCELLED: Step.RELEASE,
}

_AFTER_SUCCESS: dict[SagaState, SagaState] = {
    SagaState.RESERVING: SagaState.AUTHORIZING,
    SagaState.AUTHORIZING: SagaState.CAPTURING,
    SagaState.CAPTURING: SagaState.DONE,
    SagaState.VOIDING: SagaState.RELEASING,
    SagaState.RELEASING: SagaState.REJECTED,
    SagaState.REFUNDING: SagaState.RELEASING_CANCELLED,
    SagaState.RELEASING_CANCELLED: SagaState.CANCELLED,
}


class OrderEffect(StrEnum):
    """What a transition does to the order, in the same transaction as the saga row."""

    NONE = "none"
    CONFIRM = "confirm"
    REJECT = "reject"


class InvalidSagaTransition(Exception):
    pass


# -- step outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Succeeded:
    """The step's effect happened (or had already happened: every step is idempotent)."""


@dataclass(frozen=True)
class Refused:
    """A definite business "no" (out of stock, unknown product, card declined)."""

    reason: RejectionReason
    detail: str


@dataclass(frozen=True)
class Unavailable:
    """The outcome is unknown (dependency down, timeout, odd answer): try the same step later."""

    error: str


StepOutcome = Succeeded | Refused | Unavailable


def backoff_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempts)]."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(attempts, 16))
    return (rng or random).uniform(0.0, ceiling)


# -- the saga -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saga:
    order_id: uuid.UUID
    state: SagaState
    attempts: int
    next_attempt_at: datetime
    deadline_at: datetime
    payment_token: str
    rejection_reason: RejectionReason | None = None
    rejection_detail: str | None = None
    last_error: str | None = None
    # The W3C traceparent of the work that placed the order: every step joins that trace,
    # whoever runs it (the request's kick, the consumer or the sweeper).
    traceparent: str | None = None

    @classmethod
    def start(
        cls,
        order_id: uuid.UUID,
        *,
        payment_token: str,
        now: datetime,
        deadline: timedelta,
        traceparent: str | None = None,
    ) -> Saga:
        return cls(
            order_id=order_id,
            state=SagaState.RESERVING,
            attempts=0,
            next_attempt_at=now,
            deadline_at=now + deadline,
            payment_token=payment_token,
            traceparent=traceparent,
        )

    @classmethod
    def legacy_cancellation(cls, order_id: uuid.UUID, *, now: datetime) -> Saga:
        """For an order confirmed before sagas existed: it holds stock but no payment."""
        return cls(
            order_id=order_id,
            state=SagaState.RELEASING_CANCELLED,
            attempts=0,
            next_attempt_at=now,
            deadline_at=now,
            payment_token="",
        )

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def step(self) -> Step | None:
        return STEP_FOR.get(self.state)

    def _moved(self, state: SagaState, now: datetime) -> Saga:
        return replace(self, state=state, attempts=0, next_attempt_at=now, last_error=None)

    def _compensating(
        self, state: SagaState, now: datetime, reason: RejectionReason, detail: str
    ) -> Saga:
        moved = self._moved(state, now)
        return replace(moved, rejection_reason=reason, rejection_detail=detail)

    def past_deadline(self, now: datetime) -> Saga | None:
        """The compensation to start because the deadline passed, or None if none is due."""
        target = _ON_DEADLINE.get(self.state)
        if target is None or now < self.deadline_at:
            return None
        detail = "the order could not be completed in time"
        return self._compensating(target, now, RejectionReason.TIMED_OUT, detail)

    def after(
        self, outcome: StepOutcome, now: datetime, rng: random.Random | None = None
    ) -> tuple[Saga, OrderEffect]:
        """The saga after its current step had ``outcome``, and what that does to the order."""
        if self.terminal:
            raise InvalidSagaTransition(f"a {self.state} saga has no step to finish")
        if isinstance(outcome, Succeeded):
            target = _AFTER_SUCCESS[self.state]
            effect = {
                SagaState.DONE: OrderEffect.CONFIRM,
                SagaState.REJECTED: OrderEffect.REJECT,
            }.get(target, OrderEffect.NONE)
            return self._moved(target, now), effect
        if isinstance(outcome, Refused):
            reason, detail = outcome.reason, outcome.detail
            if self.state is SagaState.RESERVING:
                # An all-or-nothing reservation said no: nothing is held, nothing to give back.
                rejected = self._compensating(SagaState.REJECTED, now, reason, detail)
                return rejected, OrderEffect.REJECT
            if self.state is SagaState.AUTHORIZING:
                releasing = self._compensating(SagaState.RELEASING, now, reason, detail)
                return releasing, OrderEffect.NONE
            raise InvalidSagaTransition(f"the {self.step} step of a saga cannot be refused")
        compensation = replace(self, last_error=outcome.error).past_deadline(now)
        if compensation is not None:
            return compensation, OrderEffect.NONE
        delay = timedelta(seconds=backoff_delay(self.attempts, rng))
        retry = replace(
            self,
            attempts=self.attempts + 1,
            next_attempt_at=now + delay,
            last_error=outcome.error[:1000],
        )
        return retry, OrderEffect.NONE

    def cancel(self, now: datetime) -> Saga:
        """A confirmed order's cancellation: refund, then release, as saga steps."""
        if self.state is not SagaState.DONE:
            raise InvalidSagaTransition(f"a {self.state} saga cannot be cancelled")
        return self._moved(SagaState.REFUNDING, now)
