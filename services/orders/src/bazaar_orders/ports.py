"""What the use cases need from the outside world, as Protocols the adapters (and fakes) meet."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Protocol

from .domain import ListPosition, Order, Price, RequestedLine


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


class OrderRepository(Protocol):
    async def add(self, order: Order) -> None: ...

    async def get(self, order_id: uuid.UUID) -> Order | None: ...

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, limit: int, after: ListPosition | None
    ) -> list[Order]:
        """Newest first, ordered by (created_at desc, order_id desc), strictly after ``after``."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without ``commit()`` rolls everything back."""

    orders: OrderRepository

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
