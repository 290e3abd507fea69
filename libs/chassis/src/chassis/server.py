"""Serving an app: uvicorn with uvloop and httptools (DESIGN.md §7).

On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish for up to
``shutdown_grace_seconds``, then runs the lifespan's shutdown (consumers finish the message in
hand, the outbox relay makes a last attempt) and the process exits 0.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from .settings import ServiceSettings


def serve(
    app: ASGIApp, settings: ServiceSettings, *, shutdown_grace_seconds: float | None = None
) -> None:
    if shutdown_grace_seconds is None:
        shutdown_grace_seconds = settings.shutdown_grace_seconds
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
        # uvicorn's timeout is an int in its signature; it is only ever passed to wait_for.
        timeout_graceful_shutdown=shutdown_grace_seconds,  # type: ignore[arg-type]
    )
    with _sigterm_exits_cleanly():
        uvicorn.Server(config).run()


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


@contextlib.contextmanager
def _sigterm_exits_cleanly() -> Iterator[None]:
    """uvicorn drains on SIGTERM and then re-raises the signal under the handler that was in
    place before it started; by default that kills the process (exit status 143) after a
    perfectly clean shutdown. This handler turns it into exit status 0 instead, and a SIGTERM
    arriving before uvicorn installs its own handler also ends the process, cleanly."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
