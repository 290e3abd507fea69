"""The users service's configuration, read from environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from chassis import DatabaseSettings, ServiceSettings

from .domain import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, looks_like_email


class Settings(ServiceSettings, DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    service_name: str = "users"
    # PEM (PKCS#8) Ed25519 private key; read at start-up, which fails if it is unusable.
    jwt_private_key_file: Path
    jwt_issuer: str = "bazaar-users"
    jwt_audience: str = "bazaar"
    # Only for verifying our own tokens on GET /users/{userId}; matches the other services.
    jwt_leeway_seconds: float = Field(default=10.0, ge=0.0, le=120.0)
    # Short-lived on purpose: there is no revocation, so expiry is what ends a stolen token.
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    admin_email: str | None = None
    admin_password: SecretStr | None = None

    @field_validator("admin_email", "admin_password", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("admin_email")
    @classmethod
    def _admin_email_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        # Deliberately looser than EmailStr: the local launcher's admin lives at a
        # special-use domain (admin@bazaar.local) that email-validator refuses.
        if not looks_like_email(value):
            raise ValueError("ADMIN_EMAIL is not an email address")
        return value

    @model_validator(mode="after")
    def _admin_both_or_neither(self) -> Settings:
        if (self.admin_email is None) != (self.admin_password is None):
            raise ValueError("set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither")
        if self.admin_password is not None:
            length = len(self.admin_password.get_secret_value())
            if not MIN_PASSWORD_LENGTH <= length <= MAX_PASSWORD_LENGTH:
                raise ValueError(
                    f"ADMIN_PASSWORD must be {MIN_PASSWORD_LENGTH} to "
                    f"{MAX_PASSWORD_LENGTH} characters long"
                )
        return self
