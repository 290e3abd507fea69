"""Catalog use cases against in-memory fakes: paging, writes and the demo seed."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from bazaar_products import services
from bazaar_products.catalog_seed import DEMO_PRODUCTS, demo_catalog
from bazaar_products.domain import (
    MAX_INVENTORY,
    SKU_PATTERN,
    DuplicateSku,
    InvalidCursor,
    NewProduct,
    NothingToChange,
    ProductChanges,
    ProductNotFound,
)
from bazaar_products.money import parse_price


async def test_pages_visit_every_product_once_in_order(store) -> None:
    for i in range(7):
        store.put(f"Item {i % 3}", 1)  # repeated names: the id breaks the tie
    seen = []
    cursor = None
    pages = 0
    while True:
        page = await services.list_products(store.uow, limit=3, cursor=cursor)
        pages += 1
        seen.extend(page.items)
        cursor = services.next_cursor(page)
        if cursor is None:
            break
    assert pages == 3
    assert [p.product_id for p in seen] == [
        p.product_id for p in sorted(store.products.values(), key=lambda p: (p.name, p.product_id))
    ]


async def test_exact_last_page_has_no_next_cursor(store) -> None:
    for i in range(4):
        store.put(f"Item {i}", 1)
    page = await services.list_products(store.uow, limit=4, cursor=None)
    assert len(page.items) == 4
    assert services.next_cursor(page) is None


async def test_bad_cursor_is_refused(store) -> None:
    with pytest.raises(InvalidCursor):
        await services.list_products(store.uow, limit=3, cursor="nope")


async def test_products_by_ids_skips_unknown(store) -> None:
    a, b = store.put("B", 1), store.put("A", 1)
    page = await services.products_by_ids(store.uow, [a, uuid.uuid4(), b, a])
    assert [p.product_id for p in page.items] == [b, a]


async def test_duplicate_sku_writes_nothing(store) -> None:
    new = NewProduct(sku="MUG-1", name="Mug", price=Decimal("9.50"), inventory=3)
    await services.create_product(store.uow, new)
    with pytest.raises(DuplicateSku):
        await services.create_product(store.uow, NewProduct("MUG-1", "Other", Decimal("1"), 1))
    assert [p.name for p in store.products.values()] == ["Mug"]


async def test_update_changes_only_given_fields(store) -> None:
    pid = store.put("Mug", 3, price="9.50")
    updated = await services.update_product(store.uow, pid, ProductChanges(inventory=8))
    assert (updated.name, updated.price, updated.inventory) == ("Mug", Decimal("9.50"), 8)


async def test_update_needs_a_change_and_a_product(store) -> None:
    pid = store.put("Mug", 3)
    with pytest.raises(NothingToChange):
        await services.update_product(store.uow, pid, ProductChanges())
    with pytest.raises(ProductNotFound):
        await services.update_product(store.uow, uuid.uuid4(), ProductChanges(name="X"))


async def test_seed_fills_an_empty_catalog_once(store) -> None:
    assert await services.seed_catalog(store.uow, demo_catalog()) == len(DEMO_PRODUCTS)
    assert await services.seed_catalog(store.uow, demo_catalog()) == 0
    assert len(store.products) == len(DEMO_PRODUCTS)


async def test_seed_leaves_a_catalog_with_products_alone(store) -> None:
    store.put("Somebody's own product", 1)
    assert await services.seed_catalog(store.uow, demo_catalog()) == 0
    assert len(store.products) == 1


def test_demo_catalog_is_valid_and_stable() -> None:
    catalog = demo_catalog()
    assert len(catalog) >= 20
    assert len({p.sku for _, p in catalog}) == len(catalog)
    assert catalog == demo_catalog()  # ids derive from the SKU: the same on every install
    for _, product in catalog:
        assert SKU_PATTERN.fullmatch(product.sku)
        assert parse_price(str(product.price)) == product.price
        assert 20 <= product.inventory <= 500 <= MAX_INVENTORY
        assert product.name
        assert product.description
