"""Pure ASGI middleware every service gets: request ids, access logs and a body size cap.

Pure ASGI rather than ``BaseHTTPMiddleware`` so streaming bodies pass through untouched and the
per-request cost stays low.
"""

from __future__ import annotations

import time

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import PROBLEM_JSON, PayloadTooLarge, Problem
from .logs import get_logger
from .metrics import ROUTE_UNMATCHED, ServiceMetrics
from .request_ids import REQUEST_ID_HEADER, RequestIds, request_id_var
from .trace_context import TRACEPARENT_HEADER, continue_trace, trace_id, traceparent_var

_log = get_logger("chassis.access")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Assigns the request id, binds it to every log line, echoes it, and logs the access."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        quiet_paths: frozenset[str] = frozenset(),
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.app = app
        # Quiet paths (health, readiness, metrics) are neither logged nor counted: probes and
        # scrapes would drown the figures for real traffic.
        self.quiet_paths = quiet_paths
        self.metrics = metrics
        self.ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.ids.choose(_header(scope, REQUEST_ID_HEADER.encode()))
        token = request_id_var.set(request_id)
        trace_token = continue_trace(_header(scope, TRACEPARENT_HEADER.encode()))
        traceparent = traceparent_var.get() or ""
        structlog.contextvars.bind_contextvars(
            request_id=request_id, trace_id=trace_id(traceparent)
        )
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-trace-id", trace_id(traceparent).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Rendered here rather than by Starlette's outermost handler so that a 500 still
            # carries the request id and is logged with it.
            _log.exception("unhandled_error", error_type=type(exc).__name__)
            if status == 500 and not response_started:
                await _send_problem(send_with_id, Problem("An unexpected error occurred."))
        finally:
            path = scope.get("path", "")
            if path not in self.quiet_paths:
                elapsed = time.perf_counter() - started
                method = scope.get("method", "")
                _log.info(
                    "request",
                    method=method,
                    path=path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
                if self.metrics is not None:
                    self.metrics.observe_request(method, _route_template(scope), status, elapsed)
            structlog.contextvars.unbind_contextvars("request_id", "trace_id")
            traceparent_var.reset(trace_token)
            request_id_var.reset(token)


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
