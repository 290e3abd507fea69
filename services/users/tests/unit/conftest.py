"""In-memory fakes of the users service's ports, and a service wired to them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import argon2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bazaar_users.domain import EmailTaken, User, email_key
from bazaar_users.passwords import Argon2PasswordHasher
from bazaar_users.ports import UserRepository
from bazaar_users.services import UserService
from chassis import StaticJwks, TokenSigner, TokenVerifier

ISSUER = "bazaar-users"
AUDIENCE = "bazaar"


class FakeUserRepository:
    """Works on a copy of the store; the fake transaction publishes it only on success."""

    def __init__(self, rows: dict[uuid.UUID, User]) -> None:
        self.rows = rows

    async def add(self, user: User) -> None:
        if any(email_key(u.email) == email_key(user.email) for u in self.rows.values()):
            raise EmailTaken()
        self.rows[user.user_id] = user

    async def get(self, user_id: uuid.UUID) -> User | None:
        return self.rows.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self.rows.values() if email_key(u.email) == email_key(email)), None)

    async def set_roles(self, user_id: uuid.UUID, roles: frozenset[str], at: datetime) -> None:
        self.rows[user_id] = replace(self.rows[user_id], roles=roles, updated_at=at)

    async def replace_password_hash(
        self, user_id: uuid.UUID, old_hash: str, new_hash: str, at: datetime
    ) -> bool:
        user = self.rows.get(user_id)
        if user is None or user.password_hash != old_hash:
            return False
        self.rows[user_id] = replace(user, password_hash=new_hash, updated_at=at)
        return True


class FakeStore:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, User] = {}
        self.commits = 0

    def transaction(self) -> AbstractAsyncContextManager[UserRepository]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[UserRepository]:
        working = FakeUserRepository(dict(self.rows))
        yield working
        self.rows = working.rows
        self.commits += 1


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def cheap_hasher(time_cost: int = 1) -> Argon2PasswordHasher:
    # Real argon2, just cheap enough for unit tests.
    return Argon2PasswordHasher(
        argon2.PasswordHasher(time_cost=time_cost, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(
        Ed25519PrivateKey.generate(), issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900
    )


@pytest.fixture
def verifier(signer: TokenSigner) -> TokenVerifier:
    return TokenVerifier(StaticJwks(signer.jwks()), issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def service(store: FakeStore, signer: TokenSigner, clock: FakeClock) -> UserService:
    return UserService(store.transaction, cheap_hasher(), signer, clock=clock)


@pytest.fixture
def make_service(
    store: FakeStore, signer: TokenSigner, clock: FakeClock
) -> Callable[[int], UserService]:
    """A service over the same store with a differently tuned hasher (rehash tests)."""

    def make(time_cost: int) -> UserService:
        return UserService(store.transaction, cheap_hasher(time_cost), signer, clock=clock)

    return make
