"""Token checks at the edge: the challenge on failure, one verification per token a while."""

from __future__ import annotations

import pytest

from bazaar_gateway.edge_auth import EdgeAuth
from chassis import Principal, Unauthorized
from chassis.testing import TestTokens


class CountingVerifier:
    """The real verifier, counting how often it is asked."""

    def __init__(self, tokens: TestTokens) -> None:
        self.inner = tokens.verifier
        self.calls = 0

    async def verify(self, token: str) -> Principal:
        self.calls += 1
        return await self.inner.verify(token)


@pytest.fixture
def tokens() -> TestTokens:
    return TestTokens()


async def test_a_missing_or_non_bearer_header_gets_the_bearer_challenge(tokens) -> None:
    auth = EdgeAuth(tokens.verifier)
    for header in (None, "", "Basic Zm9vOmJhcg==", "Bearer "):
        with pytest.raises(Unauthorized) as caught:
            await auth.check(header)
        assert caught.value.headers["WWW-Authenticate"] == 'Bearer realm="bazaar"'


async def test_a_bad_token_is_refused_with_invalid_token(tokens) -> None:
    auth = EdgeAuth(tokens.verifier)
    with pytest.raises(Unauthorized, match="expired") as caught:
        await auth.check(f"Bearer {tokens.token(ttl_seconds=-120)}")
    assert 'error="invalid_token"' in caught.value.headers["WWW-Authenticate"]
    with pytest.raises(Unauthorized, match="malformed"):
        await auth.check("Bearer not-a-jwt")


async def test_a_verified_token_is_not_verified_again_while_cached(tokens) -> None:
    verifier = CountingVerifier(tokens)
    auth = EdgeAuth(verifier)
    token = tokens.token()
    for _ in range(5):
        await auth.check(f"Bearer {token}")
    await auth.check(f"Bearer {tokens.token()}")
    assert verifier.calls == 2


async def test_the_cache_forgets_tokens_past_its_lifetime(tokens) -> None:
    verifier = CountingVerifier(tokens)
    auth = EdgeAuth(verifier, cache_seconds=0.0)
    token = tokens.token()
    await auth.check(f"Bearer {token}")
    await auth.check(f"Bearer {token}")
    assert verifier.calls == 2


async def test_the_cache_stays_bounded(tokens) -> None:
    auth = EdgeAuth(CountingVerifier(tokens), cache_size=3)
    for _ in range(10):
        await auth.check(f"Bearer {tokens.token()}")
        assert auth.cached <= 3
