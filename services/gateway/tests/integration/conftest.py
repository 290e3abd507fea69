"""Real sockets all the way: fake upstream services (aiohttp web apps on free loopback ports) and
the gateway itself served by uvicorn on a free port, called with an httpx client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from aiohttp import web

from bazaar_gateway.bootstrap import create_app
from bazaar_gateway.settings import Settings
from chassis.testing import TestTokens


@dataclass
class FakeService:
    """An upstream that records what reached it and answers by path."""

    name: str
    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    release_slow: asyncio.Event = field(default_factory=asyncio.Event)
    slow_started: asyncio.Event = field(default_factory=asyncio.Event)
    # A test's own behaviour for every path but /health: an answer, or None for the usual one.
    respond: Callable[[web.Request], Awaitable[web.StreamResponse | None]] | None = None

    def calls(self, path: str) -> int:
        return sum(1 for s in self.seen if s["raw_path"].partition("?")[0] == path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            {
                "method": request.method,
                "raw_path": request.raw_path,
                "query": request.rel_url.raw_query_string,
                "headers": list(request.raw_headers),
                "body": body,
            }
        )
        path = request.path
        if path == "/health":
            return web.json_response({"status": "ok"})
        if self.respond is not None:
            answer = await self.respond(request)
            if answer is not None:
                return answer
        if path == "/echo":
            return web.Response(
                body=body,
                status=200,
                headers={"Content-Type": request.headers.get("Content-Type", "x/unknown")},
            )
        if path == "/slow":
            self.slow_started.set()
            await self.release_slow.wait()
            return web.json_response({"late": True})
        if path == "/redirect":
            return web.Response(status=303, headers={"Location": "/products/p-9"})
        if path == "/stream":
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for i in range(50):
                await response.write(f"line {i}\n".encode())
            await response.write_eof()
            return response
        if request.method == "POST" and path == "/orders":
            return web.json_response(
                {"orderId": "o-1"}, status=201, headers={"Location": "/orders/o-1"}
            )
        if path == "/products/set-cookie":
            response = web.json_response({"ok": True})
            response.set_cookie("session", "upstream-secret")
            return response
        if path == "/products/hop":
            return web.json_response(
                {"ok": True},
                headers={
                    "Connection": "X-Upstream-Hop",
                    "X-Upstream-Hop": "1",
                    "Keep-Alive": "timeout=99",
                    "Proxy-Authenticate": "Basic",
                    "X-Kept": "yes",
                },
            )
        if path == "/products/missing":
            return web.json_response({"detail": "nope"}, status=404)
        return web.json_response({"instance": self.name, "path": path})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running(service: FakeService) -> AsyncIterator[FakeService]:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", service.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    service.url = f"http://{host}:{port}"
    try:
        yield service
    finally:
        service.release_slow.set()
        await runner.cleanup()


@pytest.fixture
async def products() -> AsyncIterator[FakeService]:
    async with running(FakeService("products-a")) as service:
        yield service


@pytest.fixture
async def products_b() -> AsyncIterator[FakeService]:
    async with running(FakeService("products-b")) as service:
        yield service


@pytest.fixture
async def orders() -> AsyncIterator[FakeService]:
    async with running(FakeService("orders")) as service:
        yield service


@pytest.fixture
async def users() -> AsyncIterator[FakeService]:
    async with running(FakeService("users")) as service:
        yield service


@pytest.fixture
def tokens() -> TestTokens:
    return TestTokens()


GatewayFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def start_gateway(contracts_dir: Path, tokens: TestTokens, eventually: Any) -> GatewayFactory:
    """Serves the gateway with uvicorn on a free port; yields an httpx client pointed at it."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        values: dict[str, Any] = {
            "openapi_dir": contracts_dir,
            "jwks_url": "http://127.0.0.1:9/unused-tests-pass-a-verifier",
            "log_json": False,
            "upstream_timeout_seconds": 5.0,
            **overrides,
        }
        settings = Settings(**values)
        app = create_app(settings, token_verifier=tokens.verifier)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, lifespan="on", log_config=None, access_log=False, proxy_headers=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))

        def started() -> bool:
            if task.done():
                task.result()
                raise RuntimeError("the gateway did not start")
            return bool(server.started)

        await eventually(started, within=10)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                yield client
        finally:
            server.should_exit = True
            await task
            sock.close()

    return start


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = orjson.loads(response.content)
    assert body["status"] == response.status_code
    return body


@pytest.fixture
def as_problem() -> Callable[[httpx.Response], dict[str, Any]]:
    return problem


@pytest.fixture
def port_nobody_listens_on() -> int:
    return free_port()
