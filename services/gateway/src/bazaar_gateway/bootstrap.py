"""Wiring: settings → the gateway ASGI app.

`create_app` has no side effects beyond configuring logs: the route table is read and the
upstream sessions are opened by the app's lifespan, in the running event loop.
"""

from __future__ import annotations

from chassis import RemoteJwks, TokenVerifier, configure_logging

from .app import Gateway
from .edge_auth import EdgeAuth
from .settings import Settings


def create_app(settings: Settings, *, token_verifier: TokenVerifier | None = None) -> Gateway:
    configure_logging(
        service=settings.service_name,
        version=settings.service_version,
        level=settings.log_level,
        json=settings.log_json,
    )
    jwks: RemoteJwks | None = None
    if token_verifier is None:
        jwks = RemoteJwks(settings.jwks_url, cache_seconds=settings.jwks_cache_seconds)
        token_verifier = TokenVerifier(
            jwks,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
        )
    return Gateway(
        settings, EdgeAuth(token_verifier), on_shutdown=jwks.close if jwks is not None else None
    )
