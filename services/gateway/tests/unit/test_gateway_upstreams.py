"""Settings → upstream base URLs, round robin over them, and request ids."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError

from bazaar_gateway.settings import Settings
from bazaar_gateway.upstreams import Upstream


def _settings(**values: object) -> Settings:
    return Settings(openapi_dir=Path("/contracts"), jwks_url="http://users/jwks", **values)  # type: ignore[arg-type]


def test_comma_separated_urls_become_instances_without_trailing_slashes() -> None:
    settings = _settings(
        products_url="http://10.0.0.1:8002/, http://10.0.0.2:8002", orders_url="http://o:8003"
    )
    assert settings.upstream_urls() == {
        "products": ("http://10.0.0.1:8002", "http://10.0.0.2:8002"),
        "orders": ("http://o:8003",),
    }


def test_unset_or_blank_urls_are_not_configured() -> None:
    assert _settings(users_url="", orders_url=" , ").upstream_urls() == {}


def test_a_url_that_is_not_http_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="ORDERS_URL"):
        _settings(orders_url="orders:8003")


async def test_round_robin_cycles_through_the_instances_in_order() -> None:
    async with aiohttp.ClientSession() as session:
        upstream = Upstream("products", ["http://a:1", "http://b:2", "http://c:3"], session)
        chosen = [upstream.next_instance().base for _ in range(7)]
    assert chosen == ["http://a:1", "http://b:2", "http://c:3"] * 2 + ["http://a:1"]


async def test_instance_urls_keep_the_encoded_path_and_query_and_a_base_prefix() -> None:
    async with aiohttp.ClientSession() as session:
        upstream = Upstream("products", ["http://a:1/api/"], session)
        url = upstream.next_instance().url("/products/a%2Fb", "q=caf%C3%A9&x=a+b")
    assert str(url) == "http://a:1/api/products/a%2Fb?q=caf%C3%A9&x=a+b"
