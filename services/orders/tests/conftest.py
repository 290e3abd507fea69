"""In-memory fakes of the orders service's own ports, shared by unit and integration tests.

They behave like the real thing (all-or-nothing reservations, idempotent release with
tombstones, payments keyed by order with void tombstones, leases judged by a clock, a
transaction that only shows what was committed) and can be told to fail.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any

import pytest

from bazaar_orders.domain import (
    Authorized,
    Declined,
    DependencyContractError,
    DependencyUnavailable,
    InsufficientStock,
    ListPosition,
    Order,
    PaymentVoided,
    Price,
    RequestedLine,
    UnknownProducts,
)
from bazaar_orders.ports import IdempotencyRecord
from bazaar_orders.saga import Saga
from chassis import CloudEvent


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


class GatedInventory:
    """Holds every reservation until the test opens the gate, so a saga stays mid-step (and
    runners overlap)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def reserve(self, order_id: uuid.UUID, lines: Sequence[RequestedLine]) -> None:
        self.entered.set()
        await self.gate.wait()
        await self.inner.reserve(order_id, lines)

    async def release(self, order_id: uuid.UUID) -> None:
        await self.inner.release(order_id)


class FakeInventory:
    def __init__(self) -> None:
        self.stock: dict[uuid.UUID, int] = {}
        self.reservations: dict[uuid.UUID, tuple[RequestedLine, ...]] = {}
        self.released: set[uuid.UUID] = set()
        self.release_calls: list[uuid.UUID] = []
        self.reserve_calls: list[uuid.UUID] = []
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
        self.reserve_calls.append(order_id)
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


class FakeClock:
    """Time that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


DECLINING_TOKENS = {"tok_decline": "card_declined", "tok_insufficient_funds": "insufficient_funds"}


class FakePayments:
    """Payments keyed by order id, as the payments service keeps them (with void tombstones).

    ``effects`` lists every change that really happened, so a test can prove that repeating a
    call charged nothing twice. ``unavailable`` fails calls before any effect; operations in
    ``lost_answer`` take effect, then fail as a timeout would.
    """

    def __init__(self) -> None:
        self.status: dict[uuid.UUID, str] = {}
        self.amounts: dict[uuid.UUID, Decimal] = {}
        self.calls: list[tuple[str, uuid.UUID]] = []
        self.effects: list[tuple[str, uuid.UUID]] = []
        self.unavailable = False
        self.lost_answer: set[str] = set()

    def calls_of(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    def _enter(self, operation: str, order_id: uuid.UUID) -> None:
        self.calls.append((operation, order_id))
        if self.unavailable:
            raise DependencyUnavailable("payments", "connection refused")

    def _leave(self, operation: str) -> None:
        if operation in self.lost_answer:
            raise DependencyUnavailable("payments", f"{operation} timed out")

    def _move(self, operation: str, order_id: uuid.UUID, status: str) -> None:
        self.status[order_id] = status
        self.effects.append((operation, order_id))

    async def authorize(
        self,
        order_id: uuid.UUID,
        customer_id: uuid.UUID,
        amount: Decimal,
        currency: str,
        payment_token: str,
    ) -> Authorized | Declined:
        self._enter("authorize", order_id)
        if self.status.get(order_id) == "VOIDED":
            raise PaymentVoided(f"order {order_id} was voided")
        if order_id not in self.status:
            declined = payment_token in DECLINING_TOKENS
            self._move("authorize", order_id, "DECLINED" if declined else "AUTHORIZED")
            self.amounts[order_id] = amount
        self._leave("authorize")
        if self.status[order_id] == "DECLINED":
            return Declined(DECLINING_TOKENS.get(payment_token, "card_declined"))
        return Authorized(uuid.uuid5(uuid.NAMESPACE_URL, str(order_id)))

    async def _change(self, operation: str, order_id: uuid.UUID, source: str, target: str) -> None:
        self._enter(operation, order_id)
        status = self.status.get(order_id)
        if status == source or (operation == "void" and status is None):
            self._move(operation, order_id, target)
        elif status != target:
            raise DependencyContractError("payments", f"{operation} from {status}: 409")
        self._leave(operation)

    async def capture(self, order_id: uuid.UUID) -> None:
        await self._change("capture", order_id, "AUTHORIZED", "CAPTURED")

    async def void(self, order_id: uuid.UUID) -> None:
        await self._change("void", order_id, "AUTHORIZED", "VOIDED")

    async def refund(self, order_id: uuid.UUID) -> None:
        await self._change("refund", order_id, "CAPTURED", "REFUNDED")


class FakeOrderRepository:
    def __init__(self, orders: dict[uuid.UUID, Order]) -> None:
        self._orders = orders

    async def add(self, order: Order) -> None:
        self._orders[order.order_id] = copy.deepcopy(order)

    async def get(self, order_id: uuid.UUID, *, for_update: bool = False) -> Order | None:
        order = self._orders.get(order_id)
        return copy.deepcopy(order) if order else None

    async def update_status(self, order: Order) -> None:
        stored = self._orders[order.order_id]
        stored.status = order.status
        stored.rejection_reason = order.rejection_reason
        stored.updated_at = order.updated_at

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


@dataclass
class SagaRow:
    saga: Saga
    lease_owner: str | None = None
    lease_until: datetime | None = None


class FakeSagaRepository:
    """The same claim/fencing rules as the SQL adapter, judged by the fake clock."""

    def __init__(self, rows: dict[uuid.UUID, SagaRow], clock: FakeClock) -> None:
        self._rows = rows
        self._clock = clock

    def _lease_free(self, row: SagaRow) -> bool:
        return row.lease_until is None or row.lease_until < self._clock()

    async def add(self, saga: Saga) -> None:
        assert saga.order_id not in self._rows
        self._rows[saga.order_id] = SagaRow(saga)

    async def get(self, order_id: uuid.UUID) -> Saga | None:
        row = self._rows.get(order_id)
        return row.saga if row else None

    async def claim(self, order_id: uuid.UUID, *, owner: str, lease_seconds: float) -> Saga | None:
        row = self._rows.get(order_id)
        if row is None or row.saga.terminal or not self._lease_free(row):
            return None
        if row.saga.next_attempt_at > self._clock():
            return None
        row.lease_owner = owner
        row.lease_until = self._clock() + timedelta(seconds=lease_seconds)
        return row.saga

    async def save(self, saga: Saga, *, expected: Saga, owner: str, lease_seconds: float) -> bool:
        row = self._rows[saga.order_id]
        if row.lease_owner != owner or row.saga.state is not expected.state:
            return False
        row.saga = saga
        row.lease_until = self._clock() + timedelta(seconds=lease_seconds)
        return True

    async def transition(self, saga: Saga, *, expected: Saga) -> bool:
        row = self._rows[saga.order_id]
        if row.saga.state is not expected.state or not self._lease_free(row):
            return False
        self._rows[saga.order_id] = SagaRow(saga)
        return True

    async def release_lease(self, order_id: uuid.UUID, *, owner: str) -> None:
        row = self._rows.get(order_id)
        if row is not None and row.lease_owner == owner:
            row.lease_owner = row.lease_until = None

    async def due(self, *, limit: int) -> list[uuid.UUID]:
        due = [
            row
            for row in self._rows.values()
            if not row.saga.terminal
            and row.saga.next_attempt_at <= self._clock()
            and self._lease_free(row)
        ]
        due.sort(key=lambda row: row.saga.next_attempt_at)
        return [row.saga.order_id for row in due[:limit]]


class FakeIdempotencyKeys:
    def __init__(self, keys: dict[tuple[uuid.UUID, str], IdempotencyRecord]) -> None:
        self._keys = keys

    async def get(self, customer_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
        return self._keys.get((customer_id, key))

    async def add(self, customer_id: uuid.UUID, key: str, record: IdempotencyRecord) -> bool:
        if (customer_id, key) in self._keys:
            return False
        self._keys[customer_id, key] = record
        return True


class FakeOutbox:
    def __init__(self, events: list[CloudEvent]) -> None:
        self._events = events

    async def add(self, *events: CloudEvent) -> None:
        self._events.extend(events)


class FakeStore:
    """The committed state, and a unit-of-work factory over it."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.orders: dict[uuid.UUID, Order] = {}
        self.sagas: dict[uuid.UUID, SagaRow] = {}
        self.keys: dict[tuple[uuid.UUID, str], IdempotencyRecord] = {}
        self.events: list[CloudEvent] = []
        self.fail_on_commit = False
        # When set, every commit beyond this many (counted from the store's creation) fails:
        # a process killed right after an external call, before it recorded the outcome.
        self.commit_budget: int | None = None
        self.commits = 0
        self.units_opened = 0

    def __call__(self) -> FakeUnitOfWork:
        self.units_opened += 1
        return FakeUnitOfWork(self)

    def saga(self, order_id: uuid.UUID) -> Saga:
        return self.sagas[order_id].saga

    def events_of(self, event_type: str) -> list[CloudEvent]:
        return [e for e in self.events if e.type == event_type]

    def expire_leases(self) -> None:
        """As if the runners holding them had died long ago."""
        for order_id, row in self.sagas.items():
            self.sagas[order_id] = replace(row, lease_until=self.clock() - timedelta(seconds=1))


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self._orders: dict[uuid.UUID, Order] = {}
        self._sagas: dict[uuid.UUID, SagaRow] = {}
        self._keys: dict[tuple[uuid.UUID, str], IdempotencyRecord] = {}
        self._events: list[CloudEvent] = []
        self.orders = FakeOrderRepository(self._orders)
        self.sagas = FakeSagaRepository(self._sagas, store.clock)
        self.idempotency_keys = FakeIdempotencyKeys(self._keys)
        self.outbox = FakeOutbox(self._events)

    async def __aenter__(self) -> FakeUnitOfWork:
        self._orders.update(copy.deepcopy(self._store.orders))
        self._sagas.update(copy.deepcopy(self._store.sagas))
        self._keys.update(self._store.keys)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._orders.clear()
        self._sagas.clear()
        self._events.clear()

    async def commit(self) -> None:
        budget = self._store.commit_budget
        if self._store.fail_on_commit or (budget is not None and self._store.commits >= budget):
            raise ConnectionResetError("the database went away")
        self._store.orders = copy.deepcopy(self._orders)
        self._store.sagas = copy.deepcopy(self._sagas)
        self._store.keys = dict(self._keys)
        self._store.events.extend(self._events)
        self._events.clear()
        self._store.commits += 1


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def inventory() -> FakeInventory:
    return FakeInventory()


@pytest.fixture
def gated(inventory: FakeInventory) -> GatedInventory:
    """The inventory behind a gate the test opens (`gated.gate.set()`)."""
    return GatedInventory(inventory)


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> FakeStore:
    return FakeStore(clock)


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL nobody answers: the port is bound but never listening, so connecting is refused
    at once, and no one else can take the port meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
