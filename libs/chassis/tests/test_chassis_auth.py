"""Bearer tokens: only tokens signed by the issuer's current keys, unexpired, for us, pass."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from chassis import RemoteJwks, ServiceUnavailable, TokenVerifier, Unauthorized
from chassis.testing import TestTokens


async def test_valid_token_gives_principal(client: httpx.AsyncClient, tokens: TestTokens) -> None:
    user = uuid.uuid4()
    response = await client.post("/things", json={"quantity": 3}, headers=tokens.headers(user))
    assert response.status_code == 201
    assert response.json() == {"quantity": 3, "user": str(user)}


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer a.b"],
)
async def test_missing_or_garbage_token_is_401(
    client: httpx.AsyncClient, authorization: str
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = await client.post("/things", json={"quantity": 1}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_expired_token_is_401(client: httpx.AsyncClient, tokens: TestTokens) -> None:
    token = tokens.token(ttl_seconds=-60)
    response = await client.get("/admin", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_tampered_payload_is_401(client: httpx.AsyncClient, tokens: TestTokens) -> None:
    header, _payload, signature = tokens.token(roles=[]).split(".")
    forged = tokens.token(roles=["admin"]).split(".")[1]
    response = await client.get(
        "/admin", headers={"authorization": f"Bearer {header}.{forged[:-2]}AA.{signature}"}
    )
    assert response.status_code == 401


async def test_token_from_another_key_is_401(client: httpx.AsyncClient) -> None:
    stranger = TestTokens()
    response = await client.get("/admin", headers=stranger.headers(roles=["admin"]))
    assert response.status_code == 401


async def test_wrong_audience_is_401(client: httpx.AsyncClient, tokens: TestTokens) -> None:
    other = TestTokens(audience="someone-else")
    other.signer = type(other.signer)(
        tokens.signer._key, issuer="bazaar-users", audience="someone-else"
    )
    response = await client.get("/admin", headers={"authorization": f"Bearer {other.token()}"})
    assert response.status_code == 401


async def test_role_is_enforced(client: httpx.AsyncClient, tokens: TestTokens) -> None:
    assert (await client.get("/admin", headers=tokens.headers())).status_code == 403
    assert (await client.get("/admin", headers=tokens.headers(roles=["admin"]))).status_code == 200


@pytest.fixture
async def jwks_server(unused_tcp_port: int) -> AsyncIterator[tuple[str, TestTokens, list[int]]]:
    tokens = TestTokens()
    hits: list[int] = []

    async def jwks(_: web.Request) -> web.Response:
        hits.append(1)
        return web.json_response(tokens.signer.jwks())

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    yield f"http://127.0.0.1:{unused_tcp_port}/.well-known/jwks.json", tokens, hits
    await runner.cleanup()


async def test_remote_jwks_is_fetched_once_and_cached(
    jwks_server: tuple[str, TestTokens, list[int]],
) -> None:
    url, tokens, hits = jwks_server
    keys = RemoteJwks(url, min_refresh_seconds=60)
    verifier = TokenVerifier(keys, issuer="bazaar-users", audience="bazaar")
    try:
        for _ in range(5):
            await verifier.verify(tokens.token())
        # Unknown kids must not turn into one fetch each.
        for _ in range(5):
            with pytest.raises(Unauthorized):
                await verifier.verify(TestTokens().token())
    finally:
        await keys.close()
    assert len(hits) == 1


async def test_remote_jwks_unreachable_is_503_not_401(unused_tcp_port: int) -> None:
    # A valid token must not be called invalid (clients would drop it) because the issuer is
    # away: "try again shortly" instead.
    keys = RemoteJwks(f"http://127.0.0.1:{unused_tcp_port}/jwks", timeout_seconds=1)
    verifier = TokenVerifier(keys, issuer="bazaar-users", audience="bazaar")
    try:
        with pytest.raises(ServiceUnavailable) as refused:
            await verifier.verify(TestTokens().token())
    finally:
        await keys.close()
    assert refused.value.status == 503
    assert refused.value.headers["Retry-After"] == "5"
