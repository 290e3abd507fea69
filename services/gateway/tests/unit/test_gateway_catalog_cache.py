"""The catalog fallback cache: which reads it covers, what it keeps, its bounds, and the marking
of a served copy."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bazaar_gateway.catalog_cache import CatalogCache, is_catalog_read, mark_cached, shareable
from bazaar_gateway.rate_limits import LimitRule, RateLimiter
from bazaar_gateway.route_policies import RoutePolicies
from bazaar_gateway.routes import build_route_table
from chassis.metrics import ServiceMetrics


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _cache(clock: FakeClock | None = None, **kwargs: Any) -> CatalogCache:
    options: dict[str, Any] = {"max_entries": 3, "max_body_bytes": 1024, **kwargs}
    return CatalogCache(clock=clock or FakeClock(), **options)


def test_only_the_two_catalog_reads_of_products_are_covered() -> None:
    assert is_catalog_read("GET", "products", "/products")
    assert is_catalog_read("GET", "products", "/products/{productId}")
    assert is_catalog_read("GET", "products", "/products/{id}")
    assert not is_catalog_read("POST", "products", "/products")
    assert not is_catalog_read("HEAD", "products", "/products")
    assert not is_catalog_read("GET", "orders", "/products")
    assert not is_catalog_read("GET", "products", "/products/{productId}/reviews")


def test_the_route_policies_mark_catalog_reads_and_pick_limits(contracts: Any) -> None:
    limiter = RateLimiter(
        {"default": LimitRule(rate=9, burst=9), "GET /products": LimitRule(rate=1, burst=2)}
    )
    table = build_route_table(contracts)
    policies = RoutePolicies(table, limiter, ServiceMetrics(service="gateway"))
    listing = table.resolve("GET", "/products")
    one = table.resolve("GET", "/products/p-1")
    head = table.resolve("HEAD", "/products/p-1")
    assert policies.get("GET", listing).fallbacks is not None
    assert policies.get("GET", listing).limit.name == "GET /products"
    assert policies.get("GET", one).fallbacks is not None
    assert policies.get("GET", one).route == "GET /products/{productId}"
    assert policies.get("HEAD", head).fallbacks is None
    assert policies.get("POST", table.resolve("POST", "/products")).limit is limiter.default
    assert "POST /orders" in policies.routes


def test_keys_are_the_path_with_its_full_query_string() -> None:
    assert CatalogCache.key("/products", b"") == "/products"
    assert CatalogCache.key("/products", b"limit=5&cursor=abc") == "/products?limit=5&cursor=abc"
    assert CatalogCache.key("/products", b"limit=5") != CatalogCache.key("/products", b"limit=6")


def test_a_served_copy_is_marked_cached_with_its_age() -> None:
    clock = FakeClock()
    cache = _cache(clock)
    cache.put("/products/p-1", b'{"id": "p-1", "price": "19.99"}')
    clock.now += 42.7
    hit = cache.get("/products/p-1")
    assert hit is not None
    body, age = hit
    assert orjson.loads(body) == {"id": "p-1", "price": "19.99", "cached": True}
    assert age == 42
    assert cache.get("/products/p-2") is None


def test_marking_needs_a_json_object() -> None:
    assert orjson.loads(mark_cached(b'{"items": [], "cached": false}') or b"") == {
        "items": [],
        "cached": True,
    }
    assert mark_cached(b"[1, 2]") is None
    assert mark_cached(b"{not json") is None


def test_only_json_objects_within_the_size_limit_are_kept() -> None:
    cache = _cache(max_body_bytes=1024)
    cache.put("array", b"[1]")
    cache.put("empty", b"")
    cache.put("big", b'{"x": "' + b"y" * 2000 + b'"}')
    cache.put("broken", b"{oops")
    assert len(cache) == 1  # "broken" looks like an object until it is served
    assert cache.get("broken") is None
    assert len(cache) == 0
    assert cache.wants("k", None)
    assert cache.wants("k", 1024)
    assert not cache.wants("k", 1025)
    assert not cache.wants("k", 0)


def test_a_key_is_refreshed_at_most_once_a_second() -> None:
    clock = FakeClock()
    cache = _cache(clock)
    cache.put("/products", b'{"v": 1}')
    assert not cache.wants("/products", 8)
    assert cache.wants("/products?limit=5", 8)
    clock.now += 1.0
    assert cache.wants("/products", 8)


def test_the_cache_is_a_bounded_lru() -> None:
    cache = _cache(max_entries=3)
    for key in ("a", "b", "c"):
        cache.put(key, b'{"k": "%s"}' % key.encode())
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", b'{"k": "d"}')
    assert len(cache) == 3
    assert cache.get("b") is None
    assert all(cache.get(k) is not None for k in ("a", "c", "d"))
    cache.discard("a")
    cache.discard("never-there")
    assert cache.get("a") is None
    cache.put("a", b'{"k": "a"}')
    cache.put("c", b'{"k": "c2"}')  # replacing keeps one entry per key
    assert len(cache) == 3
    hit = cache.get("c")
    assert hit is not None
    assert orjson.loads(hit[0])["k"] == "c2"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"content-type", b"application/json")], True),
        ([(b"content-type", b"application/json; charset=utf-8")], True),
        ([(b"content-type", b"text/html")], False),
        ([], False),
        ([(b"content-type", b"application/json"), (b"set-cookie", b"a=1")], False),
        ([(b"content-type", b"application/json"), (b"content-encoding", b"gzip")], False),
        ([(b"content-type", b"application/json"), (b"cache-control", b"private")], False),
        (
            [(b"content-type", b"application/json"), (b"cache-control", b"max-age=0, no-store")],
            False,
        ),
        ([(b"content-type", b"application/json"), (b"cache-control", b"max-age=60")], True),
    ],
)
def test_only_answers_meant_for_anyone_are_shareable(
    headers: list[tuple[bytes, bytes]], expected: bool
) -> None:
    assert shareable(headers) is expected
