"""Verifying bearer tokens against the users service's JWKS, and the FastAPI dependencies.

Keys are cached; an unknown ``kid`` triggers at most one refresh per ``min_refresh_seconds`` so a
flood of forged tokens cannot turn into a flood of JWKS fetches.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import aiohttp
import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import Forbidden, ServiceUnavailable, Unauthorized
from .logs import get_logger
from .settings import AuthSettings

ALGORITHMS = ("EdDSA", "ES256")
_log = get_logger(__name__)


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    roles: frozenset[str] = frozenset()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_role(self, role: str) -> bool:
        return role in self.roles


class KeySource(Protocol):
    async def key_for(self, kid: str | None) -> jwt.PyJWK | None: ...


def _keys_by_id(jwks: dict[str, Any]) -> dict[str | None, jwt.PyJWK]:
    keys: dict[str | None, jwt.PyJWK] = {}
    for entry in jwks.get("keys", []):
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # a key type we cannot use must not hide the ones we can
        keys[key.key_id] = key
    return keys


class StaticJwks:
    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = _keys_by_id(jwks)

    async def key_for(self, kid: str | None) -> jwt.PyJWK | None:
        return self._keys.get(kid)


class RemoteJwks:
    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 300.0,
        min_refresh_seconds: float = 5.0,
        timeout_seconds: float = 3.0,
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._refresh_failed = False
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def key_for(self, kid: str | None) -> jwt.PyJWK | None:
        age = time.monotonic() - self._fetched_at
        if kid not in self._keys or age > self.cache_seconds:
            await self._refresh(force=age > self.cache_seconds)
        key = self._keys.get(kid)
        if key is None and self._refresh_failed:
            # Not "unknown key" (a 401 that would log a user out) but "cannot tell yet".
            raise ServiceUnavailable(
                "The keys that verify access tokens cannot be fetched right now.",
                headers={"Retry-After": str(int(self.min_refresh_seconds))},
            )
        return key

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if age < self.min_refresh_seconds and not force:
                return
            if self._session is None:
                self._session = aiohttp.ClientSession(timeout=self._timeout)
            try:
                async with self._session.get(self.url) as response:
                    response.raise_for_status()
                    self._keys = _keys_by_id(await response.json())
                self._refresh_failed = False
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                # Keep serving with the keys we have; the issuer being briefly down must not
                # log everyone out.
                self._refresh_failed = True
                _log.warning("jwks_refresh_failed", url=self.url, error=str(exc))
            self._fetched_at = time.monotonic()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class TokenVerifier:
    def __init__(
        self, keys: KeySource, *, issuer: str, audience: str, leeway_seconds: float = 10.0
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> TokenVerifier:
        """Verifies against the issuer's JWKS; fetches lazily, so building it does no I/O."""
        return cls(
            RemoteJwks(settings.jwks_url, cache_seconds=settings.jwks_cache_seconds),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
        )

    async def close(self) -> None:
        if isinstance(self.keys, RemoteJwks):
            await self.keys.close()

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is malformed.") from exc
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized("The access token uses an unsupported algorithm.")
        key = await self.keys.key_for(header.get("kid"))
        if key is None:
            raise Unauthorized("The access token was signed by an unknown key.")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[header["alg"]],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            user_id = uuid.UUID(str(claims["sub"]))
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The access token has expired.") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized("The access token is invalid.") from exc
        roles = claims.get("roles", [])
        return Principal(
            user_id=user_id,
            roles=frozenset(r for r in roles if isinstance(r, str))
            if isinstance(roles, list)
            else frozenset(),
            claims=claims,
        )


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


_bearer = HTTPBearer(auto_error=False, scheme_name="bearerAuth")


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("A bearer access token is required.")
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(role):
            raise Forbidden(f"This operation needs the '{role}' role.")
        return principal

    return dependency
