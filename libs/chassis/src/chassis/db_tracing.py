"""A CLIENT span per database statement, from SQLAlchemy's cursor events.

SQLAlchemy runs asyncpg's calls in a greenlet that shares the task's context, so the span of
the request or message being handled is the current span here. Statements outside any recorded
span (the outbox poll, the sweeper's scan, readiness probes) are not traced. Parameters are never
recorded: the statement text is parameterised, the values may be personal data.
"""

from __future__ import annotations

import re
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .tracing import Tracing

_STATEMENT_CHARS = 2000
_TARGET = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+([A-Za-z_][\w.]*)", re.IGNORECASE)
_SPAN = "_bazaar_span"


def statement_summary(statement: str) -> str:
    """``SELECT orders``: the operation and its first table, a low-cardinality span name."""
    head = statement.lstrip()[:300]
    operation = head.split(None, 1)[0].upper() if head else "SQL"
    target = _TARGET.search(head)
    return f"{operation} {target.group(1)}" if target else operation


def instrument_engine(engine: Engine, tracing: Tracing, *, database: str) -> None:
    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if context is None or not trace.get_current_span().is_recording():
            return
        span = tracing.tracer.start_span(
            statement_summary(statement),
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": "postgresql",
                "db.namespace": database,
                "db.query.text": statement[:_STATEMENT_CHARS],
            },
        )
        setattr(context, _SPAN, span)

    def after(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        span = getattr(context, _SPAN, None)
        if span is not None:
            span.end()
            setattr(context, _SPAN, None)

    def failed(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, _SPAN, None)
        if span is not None:
            error = exception_context.original_exception
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
            setattr(exception_context.execution_context, _SPAN, None)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
