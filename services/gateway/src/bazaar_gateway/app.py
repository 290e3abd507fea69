"""The gateway as a plain ASGI application: own endpoints, route lookup, edge auth, proxying.

No framework routing or middleware stack on the hot path (DESIGN.md §7): one dict lookup for
literal paths, a short scan of templates otherwise, then straight to the upstream's pooled
session. Request ids and the access log are handled here, in the same pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from starlette.types import Receive, Scope, Send

from chassis import (
    NotFound,
    Problem,
    RequestIds,
    ServiceUnavailable,
    Unauthorized,
    get_logger,
    request_id_var,
)

from .edge_auth import EdgeAuth
from .proxy import forward
from .responses import send_json, send_problem
from .routes import MethodNotAllowed, RouteTable, RouteTableError, load_route_table
from .settings import Settings
from .upstreams import Upstream, open_upstreams

_log = get_logger("bazaar_gateway.app")
_access = get_logger("bazaar_gateway.access")
# The gateway's own endpoints; they win over any route of the same path.
_OWN_PATHS = frozenset({"/health", "/ready"})


class Gateway:
    def __init__(
        self,
        settings: Settings,
        auth: EdgeAuth,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.auth = auth
        self.on_shutdown = on_shutdown
        self.routes: RouteTable | None = None
        self.upstreams: dict[str, Upstream] = {}
        self.request_ids = RequestIds()
        # Access lines from this status up (600: none). Each upstream logs its own access line
        # under the same request id, so "errors" loses nothing but a duplicate per request.
        self._log_from = {"all": 0, "errors": 500, "off": 600}[settings.access_log]
        self._health = {
            "status": "ok",
            "service": settings.service_name,
            "version": settings.service_version,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        started = time.perf_counter()
        incoming_id: bytes | None = None
        authorization: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming_id = value
            elif name == b"authorization":
                authorization = value
        request_id = self.request_ids.choose(incoming_id)
        token = request_id_var.set(request_id)
        try:
            status = await self._http(scope, receive, send, request_id, authorization)
        except Exception as exc:
            _log.exception("unhandled_error", error_type=type(exc).__name__, request_id=request_id)
            status = 500
            # If the response had already started, the server drops the connection instead.
            with contextlib.suppress(RuntimeError):
                problem = Problem("An unexpected error occurred.")
                await send_problem(send, problem, scope["path"], request_id)
        finally:
            request_id_var.reset(token)
        if status >= self._log_from and scope["path"] not in _OWN_PATHS:
            _access.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id,
            )

    async def _http(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        authorization: bytes | None,
    ) -> int:
        path: str = scope["path"]
        method: str = scope["method"]
        if path in _OWN_PATHS and method in ("GET", "HEAD"):
            return await self._own(path, request_id, send)
        routes = self.routes
        if routes is None:
            problem: Problem = ServiceUnavailable("The gateway is not serving.")
            return await send_problem(send, problem, path, request_id)
        target = routes.resolve(method, path)
        if target is None:
            return await send_problem(send, NotFound(f"No route for {path}."), path, request_id)
        if isinstance(target, MethodNotAllowed):
            problem = Problem(
                f"{method} is not allowed on {path}.", status=405, headers={"Allow": target.allow}
            )
            return await send_problem(send, problem, path, request_id)
        if not target.public:
            try:
                await self.auth.check(authorization.decode("latin-1") if authorization else None)
            except Unauthorized as exc:
                return await send_problem(send, exc, path, request_id)
        upstream = self.upstreams[target.service]
        return await forward(
            scope, receive, send, upstream, self.settings.max_body_bytes, request_id
        )

    async def _own(self, path: str, request_id: str, send: Send) -> int:
        if path == "/health":
            return await send_json(send, 200, self._health, request_id)
        if self.routes is None:
            problem = ServiceUnavailable("Not ready: no route table.")
            return await send_problem(send, problem, path, request_id)
        names = sorted(self.upstreams)
        results = await asyncio.gather(*(self.upstreams[n].check() for n in names))
        checks = {"routes": "ok", **dict(zip(names, results, strict=True))}
        if any(result != "ok" for result in checks.values()):
            problem = ServiceUnavailable("Not ready.", checks=checks)
            return await send_problem(send, problem, path, request_id)
        ready = {"status": "ready", "operations": len(self.routes), "checks": checks}
        return await send_json(send, 200, ready, request_id)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    if isinstance(exc, RouteTableError):  # a configuration error: no traceback
                        _log.error("startup_failed", error=str(exc))
                    else:
                        _log.exception("startup_failed", error=str(exc))
                    await self.stop()
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    # Raised as well, as Starlette does: servers and test managers expect it.
                    raise
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        configured = self.settings.upstream_urls()
        routes = load_route_table(self.settings.openapi_dir, configured)
        unused = sorted(set(configured) - routes.services)
        if unused:
            _log.warning("upstreams_without_routes", services=unused)
        self.upstreams = open_upstreams(
            self.settings, {name: configured[name] for name in sorted(routes.services)}
        )
        self.routes = routes
        _log.info("routes_loaded", operations=len(routes), services=sorted(routes.services))

    async def stop(self) -> None:
        self.routes = None
        upstreams, self.upstreams = self.upstreams, {}
        await asyncio.gather(*(u.close() for u in upstreams.values()))
        if self.on_shutdown is not None:
            await self.on_shutdown()
