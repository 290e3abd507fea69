"""Helpers for services' tests: a throwaway signing key and tokens verified the real way."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .auth import StaticJwks, TokenVerifier
from .broker import BrokerUnavailable
from .events import CloudEvent
from .signing import TokenSigner

TEST_ISSUER = "bazaar-users"
TEST_AUDIENCE = "bazaar"


class TestTokens:
    """Signs tokens with a fresh key; ``verifier`` accepts exactly those."""

    __test__ = False  # not a pytest test class

    def __init__(self, *, issuer: str = TEST_ISSUER, audience: str = TEST_AUDIENCE) -> None:
        self.signer = TokenSigner(Ed25519PrivateKey.generate(), issuer=issuer, audience=audience)
        self.verifier = TokenVerifier(
            StaticJwks(self.signer.jwks()), issuer=issuer, audience=audience
        )

    def token(
        self,
        user_id: uuid.UUID | None = None,
        *,
        roles: Iterable[str] = (),
        ttl_seconds: int | None = None,
    ) -> str:
        return self.signer.issue(str(user_id or uuid.uuid4()), roles=roles, ttl_seconds=ttl_seconds)

    def headers(
        self, user_id: uuid.UUID | None = None, *, roles: Iterable[str] = ()
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, roles=roles)}"}


class InMemoryBroker:
    """A fake broker (of our own port): records what is published, or fails on demand."""

    def __init__(self) -> None:
        self.published: list[CloudEvent] = []
        self.headers: list[dict[str, str]] = []
        self.fail = False

    async def publish(self, event: CloudEvent, headers: Mapping[str, str] | None = None) -> None:
        if self.fail:
            raise BrokerUnavailable("the in-memory broker is set to fail")
        self.published.append(event)
        self.headers.append(dict(headers or {}))

    def of_type(self, event_type: str) -> list[CloudEvent]:
        return [e for e in self.published if e.type == event_type]
