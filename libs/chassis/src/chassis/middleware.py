"""Pure ASGI middleware every service gets: request ids, server spans, access logs and a body
size cap.

Pure ASGI rather than ``BaseHTTPMiddleware`` so streaming bodies pass through untouched and the
per-request cost stays low.
"""

from __future__ import annotations

import time

import orjson
import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import PROBLEM_JSON, PayloadTooLarge, Problem
from .logs import get_logger
from .metrics import ROUTE_UNMATCHED, ServiceMetrics
from .request_ids import REQUEST_ID_HEADER, RequestIds, request_id_var
from .tracing import Tracing, current_tracing

_PROPAGATION_HEADERS = frozenset({b"traceparent", b"tracestate", b"x-amzn-trace-id"})

_log = get_logger("chassis.access")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Assigns the request id, opens the request's SERVER span (continuing the caller's trace),
    binds both to every log line, echoes them, and logs and counts the access."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        quiet_paths: frozenset[str] = frozenset(),
        metrics: ServiceMetrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.app = app
        # Quiet paths (health, readiness, metrics) are neither logged, counted nor traced:
        # probes and scrapes would drown the figures for real traffic.
        self.quiet_paths = quiet_paths
        self.metrics = metrics
        self.tracing = tracing or current_tracing()
        self.ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        quiet = path in self.quiet_paths
        request_id = self.ids.choose(_header(scope, REQUEST_ID_HEADER.encode()))
        token = request_id_var.set(request_id)
        answered = [(b"x-request-id", request_id.encode())]
        method = scope.get("method", "")
        span: Span | None = None
        context_token = None
        if not quiet:
            span = self.tracing.tracer.start_span(
                method,
                context=self.tracing.extract(propagation_headers(scope)),
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method, "url.path": path},
            )
            context_token = otel_context.attach(trace.set_span_in_context(span))
            answered.append((b"x-trace-id", f"{span.get_span_context().trace_id:032x}".encode()))
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                message["headers"] = headers + answered
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Rendered here rather than by Starlette's outermost handler so that a 500 still
            # carries the request id and is logged with it.
            _log.exception("unhandled_error", error_type=type(exc).__name__)
            if span is not None:
                span.record_exception(exc)
            if status == 500 and not response_started:
                await _send_problem(send_with_id, Problem("An unexpected error occurred."))
        finally:
            if span is not None:
                elapsed = time.perf_counter() - started
                route = _route_template(scope)
                _log.info(
                    "request",
                    method=method,
                    path=path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
                if self.metrics is not None:
                    self.metrics.observe_request(method, route, status, elapsed)
                end_server_span(span, method, route, status)
            structlog.contextvars.unbind_contextvars("request_id")
            if context_token is not None:
                otel_context.detach(context_token)
            request_id_var.reset(token)


def propagation_headers(scope: Scope) -> dict[str, str]:
    """The trace context headers of a request (W3C and X-Ray), for a propagator to read."""
    found: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        if key in _PROPAGATION_HEADERS:
            found[key.decode("latin-1")] = value.decode("latin-1")
    return found


def end_server_span(span: Span, method: str, route: str, status: int) -> None:
    if route != ROUTE_UNMATCHED:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    # A 4xx is the client's mistake, not the server's: only 5xx mark a server span failed.
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
    span.end()


def _route_template(scope: Scope) -> str:
    # The router leaves the matched route in the (shared) scope: its path is the template,
    # e.g. ``/orders/{orderId}``, which keeps the label's cardinality bounded.
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else ROUTE_UNMATCHED


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413, whether declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(f"The request body exceeds {self.max_bytes} bytes.")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge:
            if not response_started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        await _send_problem(
            send, PayloadTooLarge(f"The request body exceeds {self.max_bytes} bytes.")
        )


async def _send_problem(send: Send, problem: Problem) -> None:
    body = orjson.dumps(problem.to_dict())
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
