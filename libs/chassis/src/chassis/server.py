"""Serving an app: uvicorn with uvloop and httptools (DESIGN.md §7)."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

from .settings import ServiceSettings


def serve(app: ASGIApp, settings: ServiceSettings) -> None:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
