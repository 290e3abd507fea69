"""Bearer-token checks at the edge, for protected routes only.

A verified token is remembered for a short while (never past its expiry), so a client's
stream of requests costs one signature check rather than one each. The services verify the
token again, so the cache only decides what reaches them, never what they allow.

The token's subject (`sub`, the user id) is what rate limits key authenticated clients on.
"""

from __future__ import annotations

import time
from typing import Protocol

from chassis import Principal, Unauthorized, bearer_token

_CHALLENGE = 'Bearer realm="bazaar"'
_INVALID = 'Bearer realm="bazaar", error="invalid_token"'


class Verifier(Protocol):
    """What `chassis.TokenVerifier` offers: a principal, or `Unauthorized`."""

    async def verify(self, token: str) -> Principal: ...


class EdgeAuth:
    def __init__(
        self, verifier: Verifier, *, cache_seconds: float = 30.0, cache_size: int = 10_000
    ) -> None:
        self.verifier = verifier
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        # token → (valid until, subject)
        self._verified: dict[str, tuple[float, str]] = {}

    @property
    def cached(self) -> int:
        return len(self._verified)

    def subject(self, authorization: str | None) -> str | None:
        """The subject of an already verified, still valid token; None if not known (yet)."""
        token = bearer_token(authorization)
        if token is None:
            return None
        known = self._verified.get(token)
        if known is not None and time.time() < known[0]:
            return known[1]
        return None

    async def check(self, authorization: str | None) -> str:
        """The subject of the header's valid bearer token; raises `Unauthorized` if there is
        none."""
        token = bearer_token(authorization)
        if token is None:
            raise Unauthorized(
                "A bearer access token is required.", headers={"WWW-Authenticate": _CHALLENGE}
            )
        now = time.time()
        known = self._verified.get(token)
        if known is not None and now < known[0]:
            return known[1]
        try:
            principal = await self.verifier.verify(token)
        except Unauthorized as exc:
            exc.headers["WWW-Authenticate"] = _INVALID
            raise
        subject = str(principal.user_id)
        expires = principal.claims.get("exp")
        if isinstance(expires, int | float):
            if len(self._verified) >= self.cache_size:
                # Crude but bounded: a burst of distinct tokens just starts the cache afresh.
                self._verified.clear()
            self._verified[token] = (min(float(expires), now + self.cache_seconds), subject)
        return subject
