"""W3C trace context (``traceparent``) carried through requests, calls between services and
events, so one order's work can be followed across processes and the broker.

Only the propagation lives here (ids in a context variable); spans and exporters are the
tracing layer's job.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar, Token

TRACEPARENT_HEADER = "traceparent"
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")

traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)


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


def new_traceparent(trace: str | None = None) -> str:
    """A new span id, in the given trace or a new one; sampled."""
    return f"00-{trace or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def current_traceparent() -> str | None:
    return traceparent_var.get()


def child_traceparent() -> str:
    """What to send on an outbound call or stamp on an event: same trace, a new span id."""
    current = traceparent_var.get()
    return new_traceparent(trace_id(current) if current else None)


def continue_trace(traceparent: str | None) -> Token[str | None]:
    """Makes the given (or, if invalid, a new) trace current; reset with traceparent_var."""
    return traceparent_var.set(parse_traceparent(traceparent) or new_traceparent())
