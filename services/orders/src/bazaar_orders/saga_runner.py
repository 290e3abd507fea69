"""Drives one order's saga: claim it with a lease, run its steps, persist each transition.

Every external call is idempotent (keyed by the order id) and runs with NO database connection
held. Each transition is one transaction: the saga row (fenced: only the lease holder, only
from the state it read), the order's status and its event in the outbox. A crash at any point
leaves a saga row in the state of the last committed transition; whoever claims it next re-runs
that state's step, which the idempotency of the step makes harmless.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from chassis import Tracing, current_tracing, fail_span, get_logger
from chassis.deadlines import deadline_var
from chassis.metrics import ServiceMetrics
from chassis.trace_context import context_from_traceparent, in_recorded_span

from .domain import (
    Authorized,
    DependencyContractError,
    DependencyUnavailable,
    InsufficientStock,
    Order,
    PaymentVoided,
    RejectionReason,
    RequestedLine,
    UnknownProducts,
)
from .order_events import order_confirmed, order_rejected
from .placement import utc_now
from .ports import Inventory, Payments, UnitOfWorkFactory
from .saga import (
    OrderEffect,
    Refused,
    Saga,
    SagaState,
    Step,
    StepOutcome,
    Succeeded,
    Unavailable,
)

_log = get_logger(__name__)
# The order status each finished saga leaves (the ``status`` label of the outcome counter).
_ORDER_STATUS = {
    SagaState.DONE: "CONFIRMED",
    SagaState.REJECTED: "REJECTED",
    SagaState.CANCELLED: "CANCELLED",
}
# A saga has at most six forward steps; more in one run means a bug, not progress.
MAX_STEPS_PER_RUN = 12


class SagaRunner:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        inventory: Inventory,
        payments: Payments,
        owner: str,
        lease_seconds: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        metrics: ServiceMetrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._uow = uow
        self._tracing = tracing or current_tracing()
        self._inventory = inventory
        self._payments = payments
        self.owner = owner
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._rng = rng
        self._metrics = metrics

    async def advance(self, order_id: uuid.UUID) -> SagaState | None:
        """Runs the saga until it finishes or must wait; None if it is not ours to run now
        (finished, not due, or leased to another runner)."""
        claimed = await self._claim(order_id)
        if claimed is None:
            return None
        saga, order = claimed
        try:
            return await self._drive(saga, order)
        finally:
            await self._release(order_id)

    async def _claim(self, order_id: uuid.UUID) -> tuple[Saga, Order] | None:
        async with self._uow() as unit:
            saga = await unit.sagas.claim(
                order_id, owner=self.owner, lease_seconds=self._lease_seconds
            )
            order = await unit.orders.get(order_id) if saga else None
            await unit.commit()
        if saga is None or order is None:
            return None
        return saga, order

    async def _release(self, order_id: uuid.UUID) -> None:
        try:
            async with self._uow() as unit:
                await unit.sagas.release_lease(order_id, owner=self.owner)
                await unit.commit()
        except Exception:  # the lease expires on its own; nothing is lost
            _log.warning("saga_lease_release_failed", order_id=str(order_id), exc_info=True)

    async def _drive(self, saga: Saga, order: Order) -> SagaState | None:
        # Under the consumer's span, steps are its children; run by the kick (its request is
        # over) or the sweeper, they join the trace of the request that placed the order.
        parent = None if in_recorded_span() else context_from_traceparent(saga.traceparent)
        for _ in range(MAX_STEPS_PER_RUN):
            if saga.terminal:
                return saga.state
            with self._tracing.span(
                f"saga {saga.state.value}",
                parent=parent,
                attributes={
                    "bazaar.order_id": str(saga.order_id),
                    "bazaar.saga.state": saga.state.value,
                    "bazaar.saga.attempts": saga.attempts,
                },
            ) as span:
                following = saga.past_deadline(self._clock())
                effect = OrderEffect.NONE
                if following is None:
                    outcome = await self._run_step(saga, order)
                    following, effect = saga.after(outcome, self._clock(), self._rng)
                    span.set_attribute("bazaar.saga.outcome", type(outcome).__name__.lower())
                    if isinstance(outcome, Unavailable):
                        fail_span(span, outcome.error)
                else:
                    span.set_attribute("bazaar.saga.outcome", "deadline_passed")
                span.set_attribute("bazaar.saga.next_state", following.state.value)
                recorded = await self._record(saga, following, effect)
                # Logged inside the step's span, so the line names the step's span id.
                if recorded:
                    _log.info(
                        "saga_step",
                        order_id=str(saga.order_id),
                        state=saga.state,
                        next_state=following.state,
                        attempts=following.attempts,
                        error=following.last_error,
                    )
                else:
                    _log.warning("saga_lease_lost", order_id=str(saga.order_id), state=saga.state)
            if not recorded:
                return None
            self._count_outcome(following)
            if following.attempts > 0:  # retry later: the sweeper picks it up when due
                return following.state
            saga = following
        _log.error("saga_runaway", order_id=str(saga.order_id), state=saga.state)
        return saga.state

    def _count_outcome(self, saga: Saga) -> None:
        status = _ORDER_STATUS.get(saga.state)
        if self._metrics is not None and status is not None:
            self._metrics.saga_outcomes.labels(status=status).inc()

    def _count_step(self, step: Step | None, outcome: StepOutcome) -> None:
        if self._metrics is not None and step is not None:
            name = type(outcome).__name__.lower()
            self._metrics.saga_steps.labels(step=step.value, outcome=name).inc()

    async def _record(self, current: Saga, following: Saga, effect: OrderEffect) -> bool:
        async with self._uow() as unit:
            saved = await unit.sagas.save(
                following, expected=current, owner=self.owner, lease_seconds=self._lease_seconds
            )
            if not saved:
                return False
            if effect is not OrderEffect.NONE:
                order = await unit.orders.get(current.order_id, for_update=True)
                assert order is not None  # the saga row's foreign key
                if effect is OrderEffect.CONFIRM:
                    order.confirm(self._clock())
                    event = order_confirmed(order)
                else:
                    reason = following.rejection_reason or RejectionReason.TIMED_OUT
                    order.reject(self._clock(), reason)
                    event = order_rejected(order, reason, following.rejection_detail or "")
                await unit.orders.update_status(order)
                await unit.outbox.add(event)
            await unit.commit()
        return True

    async def _run_step(self, saga: Saga, order: Order) -> StepOutcome:
        step = saga.step
        outcome = await self._run_step_in_budget(saga, order)
        self._count_step(step, outcome)
        return outcome

    async def _run_step_in_budget(self, saga: Saga, order: Order) -> StepOutcome:
        # A step gets its own budget, replacing (not tightening) any deadline inherited from
        # the request that kicked the saga off: its retries must end well inside the lease.
        budget = deadline_var.set(time.monotonic() + self._lease_seconds / 2)
        try:
            return await self._call(saga, order)
        except InsufficientStock as exc:
            return Refused(RejectionReason.OUT_OF_STOCK, str(exc))
        except UnknownProducts as exc:
            return Refused(RejectionReason.UNKNOWN_PRODUCT, str(exc))
        except PaymentVoided:
            # Only a compensation voids a payment, so this saga's deadline already passed.
            return Refused(RejectionReason.TIMED_OUT, "the payment was voided before it landed")
        except (DependencyUnavailable, DependencyContractError) as exc:
            return Unavailable(str(exc))
        except Exception as exc:  # a bug must not spin: back off like any other failure
            _log.exception("saga_step_crashed", order_id=str(saga.order_id), step=saga.step)
            return Unavailable(f"{type(exc).__name__}: {exc}")
        finally:
            deadline_var.reset(budget)

    async def _call(self, saga: Saga, order: Order) -> StepOutcome:
        step = saga.step
        if step is Step.RESERVE:
            lines = [RequestedLine(line.product_id, line.quantity) for line in order.lines]
            await self._inventory.reserve(order.order_id, lines)
        elif step is Step.AUTHORIZE:
            answer = await self._payments.authorize(
                order.order_id,
                order.customer_id,
                order.total_amount,
                order.currency,
                saga.payment_token,
            )
            if not isinstance(answer, Authorized):
                detail = f"the payment was declined: {answer.reason}"
                return Refused(RejectionReason.PAYMENT_DECLINED, detail)
        elif step is Step.CAPTURE:
            await self._payments.capture(order.order_id)
        elif step is Step.VOID:
            await self._payments.void(order.order_id)
        elif step is Step.RELEASE:
            await self._inventory.release(order.order_id)
        elif step is Step.REFUND:
            await self._payments.refund(order.order_id)
        else:  # pragma: no cover - terminal sagas never get here
            raise AssertionError(f"no step in state {saga.state}")
        return Succeeded()
