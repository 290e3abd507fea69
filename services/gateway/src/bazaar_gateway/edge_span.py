"""The request's SERVER span at the edge.

It continues the client's trace context (or starts a trace), is the current span while the
request is served (so the upstream hears of it as its parent), and names the trace on every
answer, the gateway's own problems included.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from starlette.types import Message, Send

from chassis import Tracing
from chassis.middleware import end_server_span

# The headers a propagator may read: W3C trace context and X-Ray's.
TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"x-amzn-trace-id"})


class EdgeSpan:
    __slots__ = ("_context_token", "_header", "span")

    def __init__(
        self, tracing: Tracing, method: str, path: str, trace_headers: Mapping[str, str]
    ) -> None:
        self.span = tracing.tracer.start_span(
            method,
            context=tracing.extract(trace_headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        )
        self._context_token = otel_context.attach(trace.set_span_in_context(self.span))
        self._header = (b"x-trace-id", f"{self.span.get_span_context().trace_id:032x}".encode())

    def answering(self, send: Send) -> Send:
        """`send`, with the trace id on the response's headers."""

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self._header]
            await send(message)

        return send_with_trace

    def end(self, method: str, route: str, status: int) -> None:
        end_server_span(self.span, method, route, status)
        otel_context.detach(self._context_token)
