"""The W3C ``traceparent`` of the current span, for what is not an HTTP header: the event
envelope, the saga row, the trace id a response hands back to the user.

OpenTelemetry's context holds the current span; these helpers read and rebuild it as text.
"""

from __future__ import annotations

import re

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

TRACEPARENT_HEADER = "traceparent"
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def parse_traceparent(value: str | bytes | None) -> str | None:
    """The value if it is a valid version-00 traceparent (all-zero ids are invalid), else None."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    match = _TRACEPARENT.fullmatch(text.strip().lower())
    if match is None or set(match.group(1)) == {"0"} or set(match.group(2)) == {"0"}:
        return None
    return match.group(0)


def trace_id(traceparent: str) -> str:
    return traceparent[3:35]


def format_traceparent(span_context: SpanContext) -> str:
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
        f"{int(span_context.trace_flags):02x}"
    )


def current_traceparent() -> str | None:
    """The current span as a traceparent; None outside any span."""
    span_context = trace.get_current_span().get_span_context()
    return format_traceparent(span_context) if span_context.is_valid else None


def current_trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return f"{span_context.trace_id:032x}" if span_context.is_valid else None


def in_recorded_span() -> bool:
    """Whether work here is already under a live, recorded span."""
    return trace.get_current_span().is_recording()


def context_from_traceparent(value: str | bytes | None) -> Context | None:
    """A context whose (remote) parent is the given traceparent; None if it is not valid."""
    parsed = parse_traceparent(value)
    if parsed is None:
        return None
    parent = SpanContext(
        trace_id=int(parsed[3:35], 16),
        span_id=int(parsed[36:52], 16),
        is_remote=True,
        trace_flags=TraceFlags(int(parsed[53:55], 16)),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))
