"""The use cases: register, log in, read one's own profile, bootstrap the admin."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from chassis import get_logger

from .domain import (
    ADMIN_ROLE,
    EmailTaken,
    InvalidCredentials,
    User,
    UserNotFound,
    check_password,
)
from .ports import Clock, PasswordHasher, TokenIssuer, Transactions

_log = get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


class UserService:
    def __init__(
        self,
        transactions: Transactions,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._transactions = transactions
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._dummy_hash: str | None = None
        self._dummy_lock = asyncio.Lock()

    async def warm_up(self) -> None:
        """Make the dummy hash now, so the first unknown-email login is not the slow one."""
        await self._dummy()

    async def register(self, email: str, password: str) -> User:
        check_password(password)
        password_hash = await self._hasher.hash(password)
        now = self._clock()
        user = User(
            user_id=uuid.uuid4(),
            email=email.strip(),
            password_hash=password_hash,
            roles=frozenset(),
            created_at=now,
            updated_at=now,
        )
        # No look-up first: the unique index decides, so two racing registrations can't both win.
        async with self._transactions() as users:
            await users.add(user)
        _log.info("user_registered", user_id=str(user.user_id))
        return user

    async def login(self, email: str, password: str) -> AccessToken:
        async with self._transactions() as users:
            user = await users.get_by_email(email)
        if user is None:
            # Same work as a wrong password, so the answer time doesn't tell which it was.
            await self._hasher.verify(await self._dummy(), password)
            raise InvalidCredentials()
        if not await self._hasher.verify(user.password_hash, password):
            raise InvalidCredentials()
        if self._hasher.needs_rehash(user.password_hash):
            await self._rehash(user, password)
        token = self._tokens.issue(str(user.user_id), roles=sorted(user.roles))
        return AccessToken(token=token, expires_in=self._tokens.ttl_seconds)

    async def profile(self, requester: uuid.UUID, user_id: uuid.UUID) -> User:
        # Someone else's id answers exactly like an unknown one: existence is not disclosed.
        if requester != user_id:
            raise UserNotFound()
        async with self._transactions() as users:
            user = await users.get(user_id)
        if user is None:
            raise UserNotFound()
        return user

    async def ensure_admin(self, email: str, password: str) -> User:
        """Idempotent: create the admin, or grant the role; never resets a password."""
        existing = await self._grant_admin(email)
        if existing is not None:
            return existing
        check_password(password)
        password_hash = await self._hasher.hash(password)
        now = self._clock()
        admin = User(
            user_id=uuid.uuid4(),
            email=email.strip(),
            password_hash=password_hash,
            roles=frozenset({ADMIN_ROLE}),
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._transactions() as users:
                await users.add(admin)
        except EmailTaken:
            # Another replica created it between our look-up and insert.
            raced = await self._grant_admin(email)
            if raced is None:  # pragma: no cover - it existed a moment ago and nothing deletes
                raise
            return raced
        _log.info("admin_created", user_id=str(admin.user_id))
        return admin

    async def _grant_admin(self, email: str) -> User | None:
        async with self._transactions() as users:
            user = await users.get_by_email(email)
            if user is None or user.has_role(ADMIN_ROLE):
                return user
            user = user.with_role(ADMIN_ROLE, at=self._clock())
            await users.set_roles(user.user_id, user.roles, user.updated_at)
        _log.info("admin_role_granted", user_id=str(user.user_id))
        return user

    async def _rehash(self, user: User, password: str) -> None:
        new_hash = await self._hasher.hash(password)
        async with self._transactions() as users:
            # Compare-and-set: a concurrent change of the hash wins over our upgrade.
            await users.replace_password_hash(
                user.user_id, user.password_hash, new_hash, self._clock()
            )

    async def _dummy(self) -> str:
        async with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = await self._hasher.hash(secrets.token_urlsafe(24))
            return self._dummy_hash
