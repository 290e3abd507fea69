"""Adapter fixtures: a fake upstream served on loopback, and a client that reads its answers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from aiohttp import web

from chassis import ServiceClient, UpstreamPolicy

Hang = Callable[[], asyncio.Event | None]
Serve = Callable[[web.Application, Hang], AbstractAsyncContextManager[str]]


@asynccontextmanager
async def _served(app: web.Application, hang: Hang) -> AsyncIterator[str]:
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # the OS picks a free port; the site listens on this socket
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        held = hang()
        if held is not None:  # let a handler a test held open finish, so cleanup need not wait
            held.set()
        await runner.cleanup()


@pytest.fixture
def serve() -> Serve:
    """``async with serve(app, lambda: fake.hang) as url``: the app on a free loopback port."""
    return _served


@pytest.fixture
async def contract_client() -> AsyncIterator[Callable[[str, str], ServiceClient]]:
    """``contract_client(name, url)``: one attempt per call, as these tests read the contract
    (retries are the chassis's, tested there). Closed after the test."""
    clients: list[ServiceClient] = []

    def make(name: str, url: str) -> ServiceClient:
        client = ServiceClient(
            name, url, timeout_seconds=0.5, policy=UpstreamPolicy(max_attempts=1)
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
