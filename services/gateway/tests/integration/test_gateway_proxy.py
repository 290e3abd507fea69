"""The gateway in front of real upstream servers: routing, auth at the edge, proxying."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

pytestmark = pytest.mark.integration


def _header(seen: dict[str, Any], name: str) -> list[str]:
    return [v.decode() for k, v in seen["headers"] if k.decode().lower() == name]


async def test_public_route_is_proxied_without_a_token(start_gateway, products, orders) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        response = await client.get("/products/p-1")
    assert response.status_code == 200
    assert response.json() == {"instance": "products-a", "path": "/products/p-1"}
    assert products.seen[-1]["method"] == "GET"
    assert _header(products.seen[-1], "authorization") == []


async def test_protected_route_without_a_token_is_401_and_never_reaches_the_service(
    start_gateway, products, orders, as_problem
) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        missing = await client.get("/orders/o-1")
        not_bearer = await client.get("/orders/o-1", headers={"Authorization": "Basic Zm9v"})
    for response in (missing, not_bearer):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "token" in as_problem(response)["detail"]
    assert orders.seen == []


async def test_expired_tampered_or_foreign_tokens_are_401(
    start_gateway, products, orders, tokens, as_problem
) -> None:
    from chassis.testing import TestTokens

    expired = tokens.token(ttl_seconds=-120)
    header, payload, signature = tokens.token().split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    tampered = f"{header}.{forged}.{signature}"
    foreign = TestTokens().token()
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        answers = {
            name: await client.get("/orders", headers={"Authorization": f"Bearer {token}"})
            for name, token in [("expired", expired), ("tampered", tampered), ("foreign", foreign)]
        }
    assert "expired" in as_problem(answers["expired"])["detail"]
    assert "invalid" in as_problem(answers["tampered"])["detail"]
    assert "unknown key" in as_problem(answers["foreign"])["detail"]
    for response in answers.values():
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert orders.seen == []


async def test_valid_token_is_proxied_with_the_authorization_header_unchanged(
    start_gateway, products, orders, tokens
) -> None:
    authorization = f"Bearer {tokens.token(roles=['customer'])}"
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        first = await client.get("/orders/o-7", headers={"Authorization": authorization})
        again = await client.get("/orders/o-7", headers={"Authorization": authorization})
    assert first.status_code == again.status_code == 200
    assert first.json()["instance"] == "orders"
    assert [_header(s, "authorization") for s in orders.seen] == [[authorization]] * 2


async def test_public_override_inside_a_protected_document_needs_no_token(
    start_gateway, products, orders
) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        response = await client.get("/orders/summary")
    assert response.status_code == 200
    assert orders.seen[-1]["raw_path"] == "/orders/summary"


async def test_internal_routes_and_unknown_paths_are_404_problems(
    start_gateway, products, orders, tokens, as_problem
) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        internal = await client.post("/internal/reservations", json={"orderId": "o-1"})
        marked = await client.get("/orders/o-1/audit", headers=tokens.headers())
        unknown = await client.get("/nowhere")
    for response in (internal, marked, unknown):
        assert response.status_code == 404
        assert as_problem(response)["title"] == "Not Found"
    assert products.seen == []
    assert orders.seen == []


async def test_wrong_method_is_405_with_allow(start_gateway, products, orders, as_problem) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        response = await client.patch("/products/p-1", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"
    assert "PATCH" in as_problem(response)["detail"]


async def test_query_string_and_encoded_path_reach_the_service_byte_exactly(
    start_gateway, products, orders
) -> None:
    query = "q=caf%C3%A9&tag=a&tag=b&empty=&plus=a+b&slash=%2F"
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        response = await client.get(f"/products/caf%C3%A9%20x?{query}")
    assert response.status_code == 200
    assert products.seen[-1]["raw_path"] == f"/products/caf%C3%A9%20x?{query}"
    assert products.seen[-1]["query"] == query


async def test_json_body_round_trips_byte_exactly(start_gateway, products, orders) -> None:
    body = b'{"name": "Tea \\u00e9", "price": "19.99",   "tags": ["a"]}'
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        response = await client.post(
            "/echo", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["content-type"] == "application/json"
    assert _header(products.seen[-1], "content-length") == [str(len(body))]


async def test_large_bodies_stream_both_ways(start_gateway, products, orders) -> None:
    body = os.urandom(2 * 1024 * 1024)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async with start_gateway(
        products_url=products.url, orders_url=orders.url, max_body_bytes=4 * 1024 * 1024
    ) as client:
        declared = await client.put(
            "/echo", content=body, headers={"Content-Type": "application/octet-stream"}
        )
        chunked = await client.post("/echo", content=chunks())
    for response in (declared, chunked):
        assert response.status_code == 200
        assert hashlib.sha256(response.content).digest() == hashlib.sha256(body).digest()
    assert _header(products.seen[0], "content-length") == [str(len(body))]
    assert _header(products.seen[1], "transfer-encoding") == ["chunked"]


async def test_bodies_over_the_limit_are_413_problems(
    start_gateway, products, orders, as_problem
) -> None:
    body = b"x" * 300_000

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16384):
            yield body[start : start + 16384]

    async with start_gateway(
        products_url=products.url, orders_url=orders.url, max_body_bytes=100_000
    ) as client:
        declared = await client.post("/echo", content=body)
        streamed = await client.post("/echo", content=chunks())
    for response in (declared, streamed):
        assert response.status_code == 413
        assert "100000 bytes" in as_problem(response)["detail"]
    assert [s for s in products.seen if s["body"]] == []


async def test_chunked_upstream_responses_are_streamed_through(
    start_gateway, products, orders
) -> None:
    async with (
        start_gateway(products_url=products.url, orders_url=orders.url) as client,
        client.stream("GET", "/stream") as response,
    ):
        received = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert received == b"".join(f"line {i}\n".encode() for i in range(50))


async def test_hop_by_hop_headers_cross_in_neither_direction(
    start_gateway, products, orders
) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        response = await client.get(
            "/products/hop",
            headers={
                "Connection": "keep-alive, X-Client-Hop",
                "X-Client-Hop": "secret",
                "Keep-Alive": "timeout=5",
                "TE": "trailers",
                "Proxy-Authorization": "Basic Zm9vOmJhcg==",
                "X-Kept": "client",
            },
        )
    seen = {k.decode().lower() for k, _ in products.seen[-1]["headers"]}
    assert not seen & {"x-client-hop", "keep-alive", "te", "proxy-authorization"}
    assert _header(products.seen[-1], "x-kept") == ["client"]
    assert _header(products.seen[-1], "connection") != ["keep-alive, X-Client-Hop"]
    assert response.status_code == 200
    assert "x-upstream-hop" not in response.headers
    assert "proxy-authenticate" not in response.headers
    assert response.headers.get("keep-alive") is None
    assert response.headers["x-kept"] == "yes"


async def test_forwarding_headers_are_set(start_gateway, products, orders) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        await client.get("/products", headers={"X-Forwarded-For": "203.0.113.9"})
    seen = products.seen[-1]
    assert _header(seen, "x-forwarded-for") == ["203.0.113.9, 127.0.0.1"]
    assert _header(seen, "x-forwarded-proto") == ["http"]
    assert _header(seen, "x-forwarded-host")[0].startswith("127.0.0.1:")


async def test_request_ids_are_generated_or_kept_and_forwarded(
    start_gateway, products, orders
) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        generated = await client.get("/products")
        kept = await client.get("/products", headers={"X-Request-Id": "client-req-42"})
        replaced = await client.get("/products", headers={"X-Request-Id": "no spaces allowed"})
        own_404 = await client.get("/nowhere", headers={"X-Request-Id": "client-req-43"})
    new_id = generated.headers["x-request-id"]
    assert len(new_id) == 32
    assert [_header(s, "x-request-id") for s in products.seen] == [
        [new_id],
        ["client-req-42"],
        [replaced.headers["x-request-id"]],
    ]
    assert kept.headers["x-request-id"] == "client-req-42"
    assert replaced.headers["x-request-id"] not in ("no spaces allowed", new_id)
    assert own_404.headers["x-request-id"] == "client-req-43"


async def test_upstream_status_location_and_errors_are_preserved(
    start_gateway, products, orders, tokens
) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        created = await client.post("/orders", json={"items": []}, headers=tokens.headers())
        redirect = await client.get("/redirect")
        missing = await client.get("/products/missing")
    assert created.status_code == 201
    assert created.headers["location"] == "/orders/o-1"
    assert created.json() == {"orderId": "o-1"}
    assert redirect.status_code == 303  # passed on, not followed
    assert redirect.headers["location"] == "/products/p-9"
    assert missing.status_code == 404
    assert missing.json() == {"detail": "nope"}


async def test_upstream_cookies_go_to_the_client_and_are_never_replayed(
    start_gateway, products, orders
) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        first = await client.get("/products/set-cookie")
        client.cookies.clear()
        await client.get("/products/p-2")
    assert "session=upstream-secret" in first.headers["set-cookie"]
    assert _header(products.seen[-1], "cookie") == []


async def test_head_requests_get_headers_only(start_gateway, products, orders) -> None:
    async with start_gateway(products_url=products.url, orders_url=orders.url) as client:
        response = await client.head("/products/p-3")
    assert response.status_code == 200
    assert response.content == b""
    assert products.seen[-1]["method"] == "HEAD"
