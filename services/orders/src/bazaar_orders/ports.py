"""What the use cases need from the outside world, as Protocols the adapters (and fakes) meet."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Protocol

from chassis import CloudEvent

from .domain import Authorized, Declined, ListPosition, Order, Price, RequestedLine
from .saga import Saga


class Catalog(Protocol):
    """Current prices. Products that do not exist are simply absent from the answer.

    Raises DependencyUnavailable / DependencyContractError when it cannot answer.
    """

    async def prices(self, product_ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, Price]: ...


class Inventory(Protocol):
    """Stock reservations, keyed (and made idempotent) by the order id.

    ``reserve`` is all or nothing: on InsufficientStock or UnknownProducts nothing is reserved.
    ``release`` gives back whatever the order holds and is safe to call for an order that never
    reserved anything (a tombstone stops a late reservation from landing afterwards).
    Both raise DependencyUnavailable / DependencyContractError when the outcome is unknown.
    """

    async def reserve(self, order_id: uuid.UUID, lines: Sequence[RequestedLine]) -> None: ...

    async def release(self, order_id: uuid.UUID) -> None: ...


class Payments(Protocol):
    """The payments service, every call keyed (and made idempotent) by the order id.

    ``authorize`` answers Authorized or Declined (a decline is a business answer, not an error)
    and raises PaymentVoided when the order's payment was voided first. ``void`` of an order that
    was never authorized leaves a tombstone, so a late authorization cannot land. All raise
    DependencyUnavailable / DependencyContractError when the outcome is unknown.
    """

    async def authorize(
        self,
        order_id: uuid.UUID,
        customer_id: uuid.UUID,
        amount: Decimal,
        currency: str,
        payment_token: str,
    ) -> Authorized | Declined: ...

    async def capture(self, order_id: uuid.UUID) -> None: ...

    async def void(self, order_id: uuid.UUID) -> None: ...

    async def refund(self, order_id: uuid.UUID) -> None: ...


class OrderRepository(Protocol):
    async def add(self, order: Order) -> None: ...

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Order | None:
        """``for_update`` locks the order until the transaction ends."""
        ...

    async def update_status(self, order: Order) -> None:
        """Writes the order's status, rejection reason and updated_at."""
        ...

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, limit: int, after: ListPosition | None
    ) -> list[Order]:
        """Newest first, ordered by (created_at desc, order_id desc), strictly after ``after``."""
        ...


class SagaRepository(Protocol):
    """Saga rows. A runner claims one with a lease; only the lease holder may move it on."""

    async def add(self, saga: Saga) -> None: ...

    async def get(self, order_id: uuid.UUID) -> Saga | None: ...

    async def claim(self, order_id: uuid.UUID, *, owner: str, lease_seconds: float) -> Saga | None:
        """Takes the lease if the saga is unfinished, due and not leased to someone else."""
        ...

    async def save(self, saga: Saga, *, expected: Saga, owner: str, lease_seconds: float) -> bool:
        """Writes ``saga`` (renewing the lease) if ``owner`` still holds it and the row is still
        in ``expected``'s state; False when another runner took over meanwhile."""
        ...

    async def transition(self, saga: Saga, *, expected: Saga) -> bool:
        """Writes ``saga`` if it is not leased and still in ``expected``'s state (cancel)."""
        ...

    async def release_lease(self, order_id: uuid.UUID, *, owner: str) -> None: ...

    async def due(self, *, limit: int) -> list[uuid.UUID]:
        """Unfinished sagas whose next attempt is due and whose lease is free or expired."""
        ...


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    order_id: uuid.UUID


class IdempotencyKeys(Protocol):
    async def get(self, customer_id: uuid.UUID, key: str) -> IdempotencyRecord | None: ...

    async def add(self, customer_id: uuid.UUID, key: str, record: IdempotencyRecord) -> bool:
        """False if the customer already used ``key`` (a concurrent request won the race)."""
        ...


class Outbox(Protocol):
    async def add(self, *events: CloudEvent) -> None:
        """Publishes the events if, and only if, the transaction commits."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without ``commit()`` rolls everything back."""

    # Read-only (properties), so an adapter may hold its own concrete repository types.
    @property
    def orders(self) -> OrderRepository: ...

    @property
    def sagas(self) -> SagaRepository: ...

    @property
    def idempotency_keys(self) -> IdempotencyKeys: ...

    @property
    def outbox(self) -> Outbox: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
