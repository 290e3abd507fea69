"""In-memory fakes of the payments service's own ports, and the event schemas.

The fakes behave like the real thing where the use cases depend on it: a unit of work only
shows what was committed and discards what was not (rows, ledger and events alike), an insert
for an order that already has a payment loses, and a transition only happens from its source.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType

import pytest

from bazaar_payments.domain import (
    Approved,
    OperationKind,
    Payment,
    PaymentStatus,
    ProcessorDecision,
)
from chassis import CloudEvent, EventSchemas

EVENT_SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "contracts" / "events"


@dataclass(frozen=True)
class Operation:
    payment_id: uuid.UUID
    kind: OperationKind
    amount: Decimal


@dataclass
class Committed:
    payments: dict[uuid.UUID, Payment] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    events: list[CloudEvent] = field(default_factory=list)


class FakePaymentRepository:
    def __init__(self, staged: Committed) -> None:
        self._staged = staged

    async def get(self, order_id: uuid.UUID) -> Payment | None:
        return self._staged.payments.get(order_id)

    async def add_if_absent(self, payment: Payment) -> bool:
        if payment.order_id in self._staged.payments:
            return False
        self._staged.payments[payment.order_id] = payment
        return True

    async def transition(
        self,
        order_id: uuid.UUID,
        *,
        source: PaymentStatus,
        target: PaymentStatus,
        now: datetime,
    ) -> Payment | None:
        payment = self._staged.payments.get(order_id)
        if payment is None or payment.status is not source:
            return None
        moved = replace(payment, status=target, updated_at=now)
        self._staged.payments[order_id] = moved
        return moved

    async def record_operation(
        self, payment_id: uuid.UUID, kind: OperationKind, amount: Decimal, now: datetime
    ) -> None:
        if any(o.payment_id == payment_id and o.kind is kind for o in self._staged.operations):
            raise RuntimeError(f"duplicate ledger row {payment_id} {kind}")  # the unique key
        self._staged.operations.append(Operation(payment_id, kind, amount))


class FakeStore:
    """The committed state, and a unit-of-work factory over it."""

    def __init__(self) -> None:
        self.committed = Committed()
        self.commits = 0

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    @property
    def payments(self) -> dict[uuid.UUID, Payment]:
        return self.committed.payments

    @property
    def operations(self) -> list[Operation]:
        return self.committed.operations

    @property
    def events(self) -> list[CloudEvent]:
        return self.committed.events


class FakeUnitOfWork:
    payments: FakePaymentRepository

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self._staged = Committed()

    async def __aenter__(self) -> FakeUnitOfWork:
        self._staged = copy.deepcopy(self._store.committed)
        self.payments = FakePaymentRepository(self._staged)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._staged = Committed()  # whatever was not committed is gone

    async def enqueue(self, event: CloudEvent) -> None:
        self._staged.events.append(event)

    async def commit(self) -> None:
        self._store.committed = copy.deepcopy(self._staged)
        self._store.commits += 1


class FakeProcessor:
    """Answers ``decision``, or raises ``failure``, or (``hang``) never answers.

    ``during_call`` runs while the call is in flight: what a concurrent request commits then.
    """

    def __init__(self) -> None:
        self.decision: ProcessorDecision = Approved()
        self.failure: Exception | None = None
        self.hang = False
        self.called = asyncio.Event()
        self.calls: list[tuple[str, Decimal]] = []
        self.during_call: Callable[[], Awaitable[None]] | None = None

    async def authorize(self, token: str, amount: Decimal) -> ProcessorDecision:
        self.calls.append((token, amount))
        self.called.set()
        if self.during_call is not None:
            await self.during_call()
        if self.hang:
            await asyncio.Event().wait()
        if self.failure is not None:
            raise self.failure
        return self.decision


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def processor() -> FakeProcessor:
    return FakeProcessor()


@pytest.fixture(scope="session")
def event_schemas() -> EventSchemas:
    return EventSchemas.load(EVENT_SCHEMAS_DIR)
