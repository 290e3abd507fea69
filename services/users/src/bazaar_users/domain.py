"""Accounts and their rules. Pure: no I/O, no frameworks."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime

ADMIN_ROLE = "admin"
MIN_PASSWORD_LENGTH = 12
# Bounds the work one login can make argon2 do.
MAX_PASSWORD_LENGTH = 256
MAX_EMAIL_LENGTH = 320


class UsersError(Exception):
    """Base of the errors the use cases raise; the API turns each into a problem."""


class EmailTaken(UsersError):
    def __init__(self) -> None:
        super().__init__("An account with this email address already exists.")


class InvalidCredentials(UsersError):
    def __init__(self) -> None:
        # One message for unknown email and wrong password alike.
        super().__init__("The email address or password is incorrect.")


class UserNotFound(UsersError):
    def __init__(self) -> None:
        super().__init__("No such user.")


class InvalidPassword(UsersError):
    pass


@dataclass(frozen=True)
class User:
    user_id: uuid.UUID
    email: str
    password_hash: str = dataclasses.field(repr=False)
    roles: frozenset[str]
    created_at: datetime
    updated_at: datetime

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def with_role(self, role: str, *, at: datetime) -> User:
        return dataclasses.replace(self, roles=self.roles | {role}, updated_at=at)


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidPassword(
            f"The password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long."
        )


def email_key(email: str) -> str:
    """What makes two addresses the same account; the database's unique index agrees."""
    return email.strip().lower()


def looks_like_email(value: str) -> bool:
    """A shape check for addresses we do not register through EmailStr (configured ones)."""
    local, at, domain = value.rpartition("@")
    return (
        bool(at and local and domain)
        and len(value) <= MAX_EMAIL_LENGTH
        and not any(c.isspace() for c in value)
    )
