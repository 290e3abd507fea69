"""Spans across the broker and the database, on the real ones: the statements of a traced unit
of work, the publish of its event and the consume that applies it form one trace."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from chassis import (
    CloudEvent,
    Database,
    EventConsumer,
    NatsBroker,
    OutboxRelay,
    Tracing,
    enqueue,
    new_event,
)
from chassis.db_tracing import instrument_engine
from chassis.tracing import tracing_var

pytestmark = pytest.mark.integration

TYPE = "bazaar.test.traced.v1"


@pytest.fixture
def traced_database(tracing: Tracing, database: Database) -> Database:
    """The shared test database with its statements traced (as a lifespan would wire it)."""
    instrument_engine(database.engine.sync_engine, tracing, database="test")
    return database


async def place_and_consume(
    tracing: Tracing,
    database: Database,
    broker: NatsBroker,
    eventually: Any,
    exporter: InMemorySpanExporter,
    *,
    consumer_name: str,
    data: dict[str, Any],
    **options: Any,
) -> list[ReadableSpan]:
    """A request span commits an event; the relay publishes it and a consumer handles it, both
    built as a service's lifespan builds them (under its tracing). Returns every span."""
    with tracing.tracer.start_as_current_span("POST /things", kind=SpanKind.SERVER):
        async with database.transaction() as session:
            await enqueue(session, new_event(source="/t", type=TYPE, subject="1", data=data))
    token = tracing_var.set(tracing)
    try:
        relay = OutboxRelay(database, broker)
        consumer = EventConsumer(
            broker, name=consumer_name, stream_service="test", types=[TYPE], handler=apply,
            database=database, **options,
        )  # fmt: skip
    finally:
        tracing_var.reset(token)
    # The relay's own poll runs outside any span: it is not traced, its publish is.
    assert await relay.publish_pending() == 1
    consumer.start()
    try:
        await eventually(lambda: _consumed(exporter))
    finally:
        await consumer.stop()
    return list(exporter.get_finished_spans())


async def apply(event: CloudEvent, session: AsyncSession | None) -> None:
    assert session is not None
    if event.data.get("fail"):
        raise ValueError("this handler refuses")
    await session.execute(text("INSERT INTO applied VALUES (:id, 0)"), {"id": event.id})


def _one(spans: list[ReadableSpan], kind: SpanKind, prefix: str = "") -> ReadableSpan:
    (span,) = [s for s in spans if s.kind is kind and s.name.startswith(prefix)]
    return span


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent else None


async def test_statements_publish_and_consume_join_the_trace_that_made_the_event(
    tracing: Tracing,
    exporter: InMemorySpanExporter,
    traced_database: Database,
    broker: NatsBroker,
    eventually,
) -> None:
    spans = await place_and_consume(
        tracing, traced_database, broker, eventually, exporter,
        consumer_name="traced-applier", data={},
    )  # fmt: skip
    server = _one(spans, SpanKind.SERVER)
    assert {span.context.trace_id for span in spans} == {server.context.trace_id}
    insert = _one(spans, SpanKind.CLIENT, "INSERT outbox")
    publish = _one(spans, SpanKind.PRODUCER)
    process = _one(spans, SpanKind.CONSUMER)
    inbox = _one(spans, SpanKind.CLIENT, "INSERT inbox")
    applied = _one(spans, SpanKind.CLIENT, "INSERT applied")
    assert _parent_id(insert) == server.context.span_id
    assert insert.attributes is not None
    assert insert.attributes["db.system.name"] == "postgresql"
    assert _parent_id(publish) == server.context.span_id  # the envelope's traceparent
    assert publish.name == f"publish {TYPE}"
    assert _parent_id(process) == publish.context.span_id  # through the message headers
    assert process.attributes is not None
    assert process.attributes["bazaar.consumer.outcome"] == "applied"
    assert _parent_id(inbox) == _parent_id(applied) == process.context.span_id


async def test_a_failing_handler_is_an_error_span(
    tracing: Tracing,
    exporter: InMemorySpanExporter,
    traced_database: Database,
    broker: NatsBroker,
    eventually,
) -> None:
    spans = await place_and_consume(
        tracing, traced_database, broker, eventually, exporter,
        consumer_name="traced-refuser", data={"fail": 1}, max_deliver=1,
    )  # fmt: skip
    process = _one(spans, SpanKind.CONSUMER)
    assert process.status.status_code is StatusCode.ERROR
    assert "this handler refuses" in (process.status.description or "")
    assert process.attributes is not None
    assert process.attributes["bazaar.consumer.outcome"] == "dead_lettered"


async def _consumed(exporter: InMemorySpanExporter) -> bool:
    return any(span.kind is SpanKind.CONSUMER for span in exporter.get_finished_spans())
