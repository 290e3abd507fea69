"""Wiring: settings → the gateway ASGI app.

`create_app` has no side effects beyond configuring logs: the route table is read and the
upstream sessions are opened by the app's lifespan, in the running event loop.
"""

from __future__ import annotations

from chassis import TokenVerifier, Tracing, configure_logging

from .app import Gateway
from .edge_auth import EdgeAuth
from .settings import Settings


def create_app(
    settings: Settings,
    *,
    token_verifier: TokenVerifier | None = None,
    tracing: Tracing | None = None,
) -> Gateway:
    configure_logging(
        service=settings.service_name,
        version=settings.service_version,
        level=settings.log_level,
        json=settings.log_json,
    )
    verifier = token_verifier or TokenVerifier.from_settings(settings)
    tracing = tracing or Tracing.from_settings(
        settings,
        service=settings.service_name,
        version=settings.service_version,
        environment=settings.environment,
    )
    return Gateway(settings, EdgeAuth(verifier), on_shutdown=verifier.close, tracing=tracing)
