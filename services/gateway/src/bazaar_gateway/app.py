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
    Tracing,
    Unauthorized,
    get_logger,
    request_id_var,
)
from chassis.admission import AdmissionControl
from chassis.deadlines import DEADLINE_EXCEEDED_TYPE, parse_header
from chassis.metrics import ROUTE_UNMATCHED, ServiceMetrics

from .catalog_cache import CatalogCache, CatalogRead
from .client_identity import ClientIdentity
from .edge_auth import EdgeAuth
from .edge_span import TRACE_HEADERS, EdgeSpan
from .proxy import forward
from .rate_limits import Header, RateLimiter, route_keys_unknown
from .responses import send_body, send_json, send_problem
from .route_policies import RoutePolicies, RoutePolicy
from .routes import MethodNotAllowed, RouteTable, RouteTableError, load_route_table
from .settings import Settings
from .upstreams import Upstream, open_upstreams

_log = get_logger("bazaar_gateway.app")
_access = get_logger("bazaar_gateway.access")
# The gateway's own endpoints; they win over any route of the same path, and neither admission
# control nor rate limits apply to them.
_OWN_PATHS = frozenset({"/health", "/ready", "/metrics"})
RATE_LIMITED = "https://bazaar.dev/problems/rate-limited"


class Gateway:
    def __init__(
        self,
        settings: Settings,
        auth: EdgeAuth,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.auth = auth
        self.tracing = tracing or Tracing(service=settings.service_name)
        self.on_shutdown = on_shutdown
        self.routes: RouteTable | None = None
        self.policies: RoutePolicies | None = None
        self.upstreams: dict[str, Upstream] = {}
        self.request_ids = RequestIds()
        self.metrics = ServiceMetrics(service=settings.service_name)
        self.limiter = RateLimiter(
            settings.rate_limits, max_buckets=settings.rate_limit_max_buckets
        )
        self.identity = ClientIdentity(settings.trusted_networks())
        self.catalog = CatalogCache(
            max_entries=settings.catalog_cache_entries,
            max_body_bytes=settings.catalog_cache_max_body_bytes,
        )
        self._deadline_seconds = settings.request_deadline_seconds
        self._shed_deadline = self.metrics.requests_shed.labels(reason="deadline")
        # Shedding comes first: an overloaded gateway refuses before any other work.
        self._admitted = AdmissionControl(
            self._serve,
            max_inflight=settings.max_inflight_requests,
            max_queue_seconds=settings.max_queue_seconds,
            metrics=self.metrics,
            exempt_paths=_OWN_PATHS,
        )
        # Access lines from this status up (600: none). Each upstream logs its own access line
        # under the same request id, so "errors" loses nothing but a duplicate per request.
        self._log_from = {"all": 0, "errors": 500, "off": 600}[settings.access_log]
        self._health = {
            "status": "ok",
            "service": settings.service_name,
            "version": settings.service_version,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._admitted(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        incoming_id: bytes | None = None
        authorization: bytes | None = None
        deadline: bytes | None = None
        forwarded_for: bytes | None = None
        trace_headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming_id = value
            elif name in TRACE_HEADERS:
                trace_headers[name.decode("latin-1")] = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value
            elif name == b"x-request-deadline-ms":
                deadline = value
            elif name == b"x-forwarded-for":
                forwarded_for = value
        request_id = self.request_ids.choose(incoming_id)
        token = request_id_var.set(request_id)
        method: str = scope["method"]
        path: str = scope["path"]
        if path in _OWN_PATHS:  # probes and scrapes: neither traced nor logged
            try:
                await self._http(
                    scope, receive, send, request_id, authorization, deadline, forwarded_for
                )
            finally:
                request_id_var.reset(token)
            return
        # The trace starts at the edge (or continues the client's): every answer names it.
        edge = EdgeSpan(self.tracing, method, path, trace_headers)
        send_with_trace = edge.answering(send)
        status = 500
        try:
            status = await self._http(
                scope, receive, send_with_trace, request_id, authorization, deadline, forwarded_for
            )
        except Exception as exc:
            _log.exception("unhandled_error", error_type=type(exc).__name__, request_id=request_id)
            edge.span.record_exception(exc)
            # If the response had already started, the server drops the connection instead.
            with contextlib.suppress(RuntimeError):
                problem = Problem("An unexpected error occurred.")
                await send_problem(send_with_trace, problem, path, request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route_template", ROUTE_UNMATCHED)
            self.metrics.observe_request(method, route, status, elapsed)
            if status >= self._log_from:
                _access.info(
                    "request",
                    method=method,
                    path=path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    request_id=request_id,
                )
            edge.end(method, route, status)
            request_id_var.reset(token)

    async def _http(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        authorization: bytes | None,
        deadline_header: bytes | None,
        forwarded_for: bytes | None,
    ) -> int:
        path: str = scope["path"]
        method: str = scope["method"]
        if path in _OWN_PATHS and method in ("GET", "HEAD"):
            return await self._own(path, request_id, send)
        routes, policies = self.routes, self.policies
        if routes is None or policies is None:
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
        # The budget: ours, or the client's if it asked for less (then it is the client's own
        # doing if the call runs out of time, which the breaker takes into account).
        budget = self._deadline_seconds
        shortened = False
        if deadline_header is not None:
            asked = parse_header(deadline_header)
            if asked is not None and asked < budget:
                budget, shortened = asked, True
                if budget <= 0:
                    return await self._deadline_spent(send, path, request_id)
        deadline = time.monotonic() + budget
        policy = policies.get(method, target)
        scope["route_template"] = target.template
        limit = policy.limit
        if target.public:
            client = self._address(scope, forwarded_for)
        else:
            header = authorization.decode("latin-1") if authorization else None
            subject = self.auth.subject(header)
            if subject is None:
                # Not verified yet: failed attempts are paid for by the address, and an address
                # that has used up its attempts is refused before any signature check, so
                # guessing tokens is limited like anonymous traffic. Valid tokens cost the
                # address nothing (many users may share one, behind NAT).
                address = self._address(scope, forwarded_for)
                if not limit.has_token(address):
                    extra, _ = limit.take(address)
                    return await self._limited(send, policy, address, extra, path, request_id)
                try:
                    subject = await self.auth.check(header)
                except Unauthorized as exc:
                    extra, _ = limit.take(address)
                    return await send_problem(send, exc, path, request_id, extra)
                except ServiceUnavailable as exc:  # the issuer's keys are out of reach
                    return await send_problem(send, exc, path, request_id)
            client = subject
        extra, wait = limit.take(client)
        if wait:
            return await self._limited(send, policy, client, extra, path, request_id)
        catalog: CatalogRead | None = None
        if policy.fallbacks is not None and self.catalog.max_entries:
            catalog = CatalogRead(
                self.catalog,
                CatalogCache.key(path, scope["query_string"]),
                route=policy.route,
                store=authorization is None,
                served=policy.fallbacks,
            )
        trace_headers: dict[str, str] = {}
        self.tracing.inject(trace_headers)
        return await forward(
            scope,
            receive,
            send,
            self.upstreams[target.service],
            request_id,
            trace_headers=trace_headers,
            max_body_bytes=self.settings.max_body_bytes,
            deadline=deadline,
            shortened=shortened,
            extra=extra,
            catalog=catalog,
        )

    def _address(self, scope: Scope, forwarded_for: bytes | None) -> str:
        peer = scope.get("client")
        return self.identity.address(peer[0] if peer else None, forwarded_for)

    async def _limited(
        self,
        send: Send,
        policy: RoutePolicy,
        client: str,
        headers: list[Header],
        path: str,
        request_id: str,
    ) -> int:
        policy.limited.inc()
        self.limiter.log_refusal(client, policy.route)
        limit = policy.limit
        problem = Problem(
            f"Rate limit exceeded for {policy.route}: {limit.burst} requests at most, refilled "
            f"at {limit.rate:g} per second.",
            status=429,
            type=RATE_LIMITED,
            title="Too Many Requests",
        )
        return await send_problem(send, problem, path, request_id, headers)

    async def _deadline_spent(self, send: Send, path: str, request_id: str) -> int:
        self._shed_deadline.inc()
        problem = Problem(
            "The request's deadline had passed on arrival.",
            status=504,
            title="Deadline exceeded",
            type=DEADLINE_EXCEEDED_TYPE,
        )
        return await send_problem(send, problem, path, request_id)

    async def _own(self, path: str, request_id: str, send: Send) -> int:
        if path == "/health":
            return await send_json(send, 200, self._health, request_id)
        if path == "/metrics":
            body, content_type = self.metrics.render()
            return await send_body(send, 200, content_type.encode(), body, request_id)
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
            self.settings,
            {name: configured[name] for name in sorted(routes.services)},
            self.metrics,
        )
        self.policies = RoutePolicies(routes, self.limiter, self.metrics)
        unknown = route_keys_unknown(self.settings.rate_limits, set(self.policies.routes))
        if unknown:
            _log.warning("rate_limits_for_unknown_routes", routes=unknown)
        self.routes = routes
        _log.info("routes_loaded", operations=len(routes), services=sorted(routes.services))

    async def stop(self) -> None:
        self.tracing.shutdown()
        self.routes = None
        self.policies = None
        upstreams, self.upstreams = self.upstreams, {}
        await asyncio.gather(*(u.close() for u in upstreams.values()))
        if self.on_shutdown is not None:
            await self.on_shutdown()
