"""Unit fixtures: placing orders and running sagas over the in-memory fakes."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bazaar_orders.domain import Order, RequestedLine
from bazaar_orders.placement import place_order
from bazaar_orders.saga_runner import SagaRunner

CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")

Place = Callable[..., Awaitable[Order]]
MakeRunner = Callable[..., SagaRunner]
Stocked = Callable[..., uuid.UUID]


@pytest.fixture
def stocked(catalog: Any, inventory: Any) -> Stocked:
    """Adds a product to the catalog with stock on hand; ``stocked("19.99", 10)``. With
    ``on_hand=None`` the catalog prices it but the inventory has never heard of it."""

    def add(price: str, on_hand: int | None = 10) -> uuid.UUID:
        product = catalog.add(price)
        if on_hand is not None:
            inventory.stock_up(product, on_hand)
        return product

    return add


@pytest.fixture
def place(catalog: Any, store: Any, clock: Any) -> Place:
    """Places an order through the real use case; ``place((product, qty), ..., token=...)``."""

    async def place_lines(*lines: tuple[uuid.UUID, int], **kwargs: Any) -> Order:
        placement = await place_order(
            kwargs.pop("customer", CUSTOMER),
            [RequestedLine(p, q) for p, q in lines],
            payment_token=kwargs.pop("token", "tok_visa"),
            idempotency_key=kwargs.pop("key", None),
            catalog=catalog,
            uow=store,
            clock=kwargs.pop("clock", clock),
            **kwargs,
        )
        return placement.order

    return place_lines


@pytest.fixture
def make_runner(store: Any, inventory: Any, payments: Any, clock: Any) -> MakeRunner:
    def make(owner: str = "runner-1", **kwargs: Any) -> SagaRunner:
        return SagaRunner(
            uow=store,
            inventory=kwargs.pop("inventory", inventory),
            payments=kwargs.pop("payments", payments),
            owner=owner,
            lease_seconds=30.0,
            clock=clock,
            rng=random.Random(42),
        )

    return make
