"""What the use cases need from the outside world, as Protocols."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from .domain import User


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user; raises ``EmailTaken`` if the email (in any case) is in use."""

    async def get(self, user_id: uuid.UUID) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None:
        """Case-insensitive lookup."""

    async def set_roles(self, user_id: uuid.UUID, roles: frozenset[str], at: datetime) -> None: ...

    async def replace_password_hash(
        self, user_id: uuid.UUID, old_hash: str, new_hash: str, at: datetime
    ) -> bool:
        """Swap the hash only if it is still ``old_hash``; True when swapped."""


# One call = one transaction: commits when the block ends normally, rolls back on any error.
Transactions = Callable[[], AbstractAsyncContextManager[UserRepository]]
Clock = Callable[[], datetime]


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class TokenIssuer(Protocol):
    ttl_seconds: int

    def issue(self, subject: str, *, roles: Iterable[str] = ()) -> str: ...
