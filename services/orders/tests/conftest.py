"""In-memory fakes of the orders service's own ports, shared by unit and integration tests.

They behave like the real thing (all-or-nothing reservations, idempotent release with
tombstones, a transaction that only shows what was committed) and can be told to fail.
"""

from __future__ import annotations

import copy
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from types import TracebackType

import pytest

from bazaar_orders.domain import (
    DependencyUnavailable,
    InsufficientStock,
    ListPosition,
    Order,
    Price,
    RequestedLine,
    UnknownProducts,
)


class FakeCatalog:
    def __init__(self) -> None:
        self.products: dict[uuid.UUID, Price] = {}
        self.unavailable = False
        self.calls = 0

    def add(self, price: str, currency: str = "USD") -> uuid.UUID:
        product_id = uuid.uuid4()
        self.products[product_id] = Price(Decimal(price), currency)
        return product_id

    async def prices(self, product_ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, Price]:
        self.calls += 1
        if self.unavailable:
            raise DependencyUnavailable("products", "connection refused")
        return {p: self.products[p] for p in product_ids if p in self.products}


class FakeInventory:
    def __init__(self) -> None:
        self.stock: dict[uuid.UUID, int] = {}
        self.reservations: dict[uuid.UUID, tuple[RequestedLine, ...]] = {}
        self.released: set[uuid.UUID] = set()
        self.release_calls: list[uuid.UUID] = []
        # "down": nothing happens and the call fails; "lost-answer": the reservation lands but
        # the caller never hears back (a timeout after the products service committed).
        self.reserve_failure: str | None = None
        self.release_fails = False

    def stock_up(self, product_id: uuid.UUID, quantity: int) -> None:
        self.stock[product_id] = quantity

    def held(self) -> dict[uuid.UUID, int]:
        held: dict[uuid.UUID, int] = {}
        for lines in self.reservations.values():
            for line in lines:
                held[line.product_id] = held.get(line.product_id, 0) + line.quantity
        return held

    async def reserve(self, order_id: uuid.UUID, lines: Sequence[RequestedLine]) -> None:
        if self.reserve_failure == "down":
            raise DependencyUnavailable("products", "connection refused")
        if order_id in self.reservations:
            return
        unknown = [line.product_id for line in lines if line.product_id not in self.stock]
        if unknown:
            raise UnknownProducts(unknown)
        short = [line.product_id for line in lines if self.stock[line.product_id] < line.quantity]
        if short:
            raise InsufficientStock(short)
        if order_id not in self.released:
            for line in lines:
                self.stock[line.product_id] -= line.quantity
            self.reservations[order_id] = tuple(lines)
        if self.reserve_failure == "lost-answer":
            raise DependencyUnavailable("products", "POST /internal/reservations timed out")

    async def release(self, order_id: uuid.UUID) -> None:
        self.release_calls.append(order_id)
        if self.release_fails:
            raise DependencyUnavailable("products", "connection refused")
        for line in self.reservations.pop(order_id, ()):
            self.stock[line.product_id] += line.quantity
        self.released.add(order_id)


class FakeOrderRepository:
    def __init__(self, orders: dict[uuid.UUID, Order]) -> None:
        self._orders = orders

    async def add(self, order: Order) -> None:
        self._orders[order.order_id] = copy.deepcopy(order)

    async def get(self, order_id: uuid.UUID) -> Order | None:
        order = self._orders.get(order_id)
        return copy.deepcopy(order) if order else None

    async def list_for_customer(
        self, customer_id: uuid.UUID, *, limit: int, after: ListPosition | None
    ) -> list[Order]:
        mine = sorted(
            (o for o in self._orders.values() if o.customer_id == customer_id),
            key=lambda o: (o.created_at, o.order_id),
            reverse=True,
        )
        if after is not None:
            mine = [
                o for o in mine if (o.created_at, o.order_id) < (after.created_at, after.order_id)
            ]
        return copy.deepcopy(mine[:limit])


class FakeStore:
    """The committed state, and a unit-of-work factory over it."""

    def __init__(self) -> None:
        self.orders: dict[uuid.UUID, Order] = {}
        self.fail_on_commit = False
        self.commits = 0

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self._staged: dict[uuid.UUID, Order] = {}
        self.orders = FakeOrderRepository(self._staged)

    async def __aenter__(self) -> FakeUnitOfWork:
        self._staged.update(copy.deepcopy(self._store.orders))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._staged.clear()

    async def commit(self) -> None:
        if self._store.fail_on_commit:
            raise ConnectionResetError("the database went away")
        self._store.orders = copy.deepcopy(self._staged)
        self._store.commits += 1


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def inventory() -> FakeInventory:
    return FakeInventory()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL nobody answers: the port is bound but never listening, so connecting is refused
    at once, and no one else can take the port meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
