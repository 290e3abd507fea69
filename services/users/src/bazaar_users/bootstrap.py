"""Building the app: ``create_app`` wires things up; the lifespan acquires resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from chassis import (
    StaticJwks,
    TokenSigner,
    TokenVerifier,
    create_service_app,
    get_logger,
    owned_database,
)

from .api import router
from .passwords import Argon2PasswordHasher
from .repository import sql_transactions
from .services import UserService
from .settings import Settings
from .signing_key import load_signing_key

MIGRATIONS = Path(__file__).parent / "migrations"
_log = get_logger(__name__)


def create_app(settings: Settings, *, token_verifier: TokenVerifier | None = None) -> FastAPI:
    """``token_verifier`` replaces the one built from our own signing key (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # First, before touching anything else: a bad key must stop the start-up at once.
        signer = TokenSigner(
            load_signing_key(settings.jwt_private_key_file),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
        )
        app.state.signer = signer
        # We issue the tokens, so we know the keys: no JWKS round trip to ourselves.
        app.state.token_verifier = token_verifier or TokenVerifier(
            StaticJwks(signer.jwks()),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
        )
        async with owned_database(app, settings, MIGRATIONS) as database:
            service = UserService(sql_transactions(database), Argon2PasswordHasher(), signer)
            await service.warm_up()
            if settings.admin_email is not None and settings.admin_password is not None:
                admin = await service.ensure_admin(
                    settings.admin_email, settings.admin_password.get_secret_value()
                )
                _log.info("admin_ready", user_id=str(admin.user_id))
            app.state.user_service = service
            yield

    return create_service_app(
        settings,
        title="Bazaar users",
        description="Accounts, password login, and the keys that verify Bazaar's access tokens.",
        routers=[router],
        lifespan=lifespan,
        token_verifier=token_verifier,
    )


def openapi_document() -> dict[str, Any]:
    # model_construct: placeholders only, never the environment, so the document is stable.
    settings = Settings.model_construct(
        database_url="postgresql+asyncpg://placeholder/users",
        jwt_private_key_file=Path("placeholder.pem"),
    )
    return create_app(settings).openapi()
