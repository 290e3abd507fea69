"""Request and response bodies: camelCase JSON, unknown request fields refused."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, JsonValue
from pydantic.alias_generators import to_camel

from .domain import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, User

# repr=False keeps the password out of any repr that ends up in a log or traceback.
_PASSWORD_SCHEMA: dict[str, JsonValue] = {"format": "password", "writeOnly": True}


class _Request(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Registration(_Request):
    email: EmailStr = Field(max_length=MAX_EMAIL_LENGTH)
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        repr=False,
        json_schema_extra=_PASSWORD_SCHEMA,
    )


class Credentials(_Request):
    # Not EmailStr: an address we could never have registered is simply a failed login (401),
    # and configured accounts (the admin) may use domains EmailStr refuses.
    email: str = Field(min_length=1, max_length=MAX_EMAIL_LENGTH)
    password: str = Field(
        min_length=1, max_length=MAX_PASSWORD_LENGTH, repr=False, json_schema_extra=_PASSWORD_SCHEMA
    )


class UserProfile(_Response):
    user_id: uuid.UUID
    email: str
    roles: list[str]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserProfile:
        return cls(
            user_id=user.user_id,
            email=user.email,
            roles=sorted(user.roles),
            created_at=user.created_at,
        )


class AccessTokenResponse(_Response):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (an auth scheme, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.")


class Jwk(_Response):
    model_config = ConfigDict(extra="allow")

    kty: str
    crv: str
    x: str
    kid: str
    use: str
    alg: str


class JwkSet(_Response):
    keys: list[Jwk]
