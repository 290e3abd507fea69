"""What the use cases need from the outside world, as Protocols (adapters implement them)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol

from chassis import CloudEvent

from .domain import OperationKind, Payment, PaymentStatus, ProcessorDecision


class PaymentProcessor(Protocol):
    async def authorize(self, token: str, amount: Decimal) -> ProcessorDecision:
        """Approved or Declined; raises ProcessorUnavailable when the outcome is unknown."""
        ...


class PaymentRepository(Protocol):
    async def get(self, order_id: uuid.UUID) -> Payment | None: ...

    async def add_if_absent(self, payment: Payment) -> bool:
        """Inserts unless the order already has a payment (then waits for that one to commit);
        True if this call inserted it."""
        ...

    async def transition(
        self,
        order_id: uuid.UUID,
        *,
        source: PaymentStatus,
        target: PaymentStatus,
        now: datetime,
    ) -> Payment | None:
        """Moves the payment to ``target`` only if it is in ``source`` at that moment (a
        conditional update, so of two concurrent callers exactly one wins); None otherwise."""
        ...

    async def record_operation(
        self, payment_id: uuid.UUID, kind: OperationKind, amount: Decimal, now: datetime
    ) -> None: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without ``commit()`` rolls everything back,
    including the events enqueued in it."""

    payments: PaymentRepository

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def enqueue(self, event: CloudEvent) -> None:
        """Adds ``event`` to the outbox, in this transaction."""
        ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
