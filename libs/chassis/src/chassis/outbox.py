"""The transactional outbox (DESIGN.md §4): events are rows written with the state change, and
a relay publishes them once committed, with the event id as the broker's dedup id.

A crash after publishing but before marking sent re-publishes on restart; the broker's dedup
window and the consumers' inbox make that harmless. Events that break their schema are a
producer bug: they are quarantined (kept, never published) rather than blocking the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import sqlalchemy as sa
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from .broker import Broker, BrokerUnavailable
from .db import Database
from .event_schemas import EventSchemas
from .events import CloudEvent, InvalidEvent
from .logs import get_logger
from .metrics import ServiceMetrics
from .trace_context import context_from_traceparent
from .tracing import current_tracing

_log = get_logger(__name__)


def create_outbox_table(op: Any) -> None:
    """Call from a service's Alembic revision."""
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quarantined", sa.Text, nullable=True),
    )
    op.create_index(
        "outbox_pending", "outbox", ["seq"],
        postgresql_where=sa.text("published_at IS NULL AND quarantined IS NULL"),
    )  # fmt: skip


def create_inbox_table(op: Any) -> None:
    """Call from the Alembic revision of a service that consumes events."""
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


async def enqueue(session: AsyncSession, *events: CloudEvent) -> None:
    """Adds events to the outbox inside the caller's transaction."""
    if not events:
        return
    await session.execute(
        text(
            "INSERT INTO outbox (event_id, event_type, payload) "
            "VALUES (:event_id, :event_type, CAST(:payload AS jsonb))"
        ),
        [{"event_id": e.id, "event_type": e.type, "payload": e.to_json().decode()} for e in events],
    )


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        broker: Broker,
        *,
        schemas: EventSchemas | None = None,
        poll_seconds: float = 0.5,
        batch_size: int = 100,
        max_backoff_seconds: float = 5.0,
        final_flush_seconds: float = 2.0,
        metrics: ServiceMetrics | None = None,
        backlog_seconds: float = 1.0,
    ) -> None:
        self.database = database
        self.broker = broker
        self.schemas = schemas
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.max_backoff_seconds = max_backoff_seconds
        self.final_flush_seconds = final_flush_seconds
        self.metrics = metrics
        self._tracing = current_tracing()
        self.backlog_seconds = backlog_seconds
        self._backlog_read_at = float("-inf")
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Lets a pass in progress finish, then makes one last pass, all within
        ``final_flush_seconds``, so events committed just before shutdown go out now rather
        than on the next start. Not cancelling a pass midway also avoids re-publishing what it
        already sent (harmless thanks to dedup, but noise). Out of time, it cancels: whatever
        is left stays in the outbox."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        await asyncio.wait({task}, timeout=self.final_flush_seconds)
        if not task.done():
            _log.warning("outbox_final_flush_timed_out", seconds=self.final_flush_seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        delay = self.poll_seconds
        while True:
            final = self._stopping  # a pass begun after stop() was asked for is the last
            try:
                published = await self.publish_pending()
                delay = self.poll_seconds
                if final:
                    _log.info("outbox_relay_stopped", published=published)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: keep the rows, try later
                delay = min(max(delay, self.poll_seconds) * 2, self.max_backoff_seconds)
                _log.warning("outbox_relay_failed", error=str(exc), retry_in=delay, final=final)
            # After a failed pass too: a growing backlog during an outage is the point. At most
            # once a second: woken by every commit, the relay would otherwise pay a second
            # transaction per event for a gauge scraped every few seconds.
            now = asyncio.get_running_loop().time()
            if final or now - self._backlog_read_at >= self.backlog_seconds:
                self._backlog_read_at = now
                await self._observe_backlog()
            if final:
                return
            if self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()

    async def publish_pending(self) -> int:
        """Publishes everything pending, oldest first; returns how many were published."""
        published = 0
        while True:
            sent, more = await self._publish_batch()
            published += sent
            if not more:
                return published

    async def _publish_batch(self) -> tuple[int, bool]:
        async with self.database.transaction() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT seq, payload::text FROM outbox "
                        "WHERE published_at IS NULL AND quarantined IS NULL "
                        "ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED"
                    ),
                    {"limit": self.batch_size},
                )
            ).all()
            sent: list[int] = []
            failure: BrokerUnavailable | None = None
            for seq, payload in rows:
                event = CloudEvent.from_json(payload)
                try:
                    if self.schemas is not None:
                        self.schemas.validate(event)
                except InvalidEvent as exc:
                    _log.error("outbox_event_quarantined", event_id=event.id, error=str(exc))
                    await session.execute(
                        text("UPDATE outbox SET quarantined = :why WHERE seq = :seq"),
                        {"why": str(exc)[:1000], "seq": seq},
                    )
                    continue
                try:
                    await self._publish(event)
                except BrokerUnavailable as exc:
                    failure = exc
                    break
                sent.append(seq)
            if sent:
                await session.execute(
                    text("UPDATE outbox SET published_at = now() WHERE seq = ANY(:seqs)"),
                    {"seqs": sent},
                )
        if failure is not None:
            raise failure
        return len(sent), len(rows) == self.batch_size

    async def _publish(self, event: CloudEvent) -> None:
        # The PRODUCER span is a child of the work that made the event (the envelope's
        # traceparent), and its own context travels in the message headers to the consumer.
        parent = context_from_traceparent(event.traceparent)
        if parent is None or not self._tracing.recording:
            await self.broker.publish(event)
            return
        with self._tracing.tracer.start_as_current_span(
            f"publish {event.type}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "send",
                "messaging.destination.name": event.type,
                "messaging.message.id": event.id,
            },
        ):
            headers: dict[str, str] = {}
            self._tracing.inject(headers)
            await self.broker.publish(event, headers)

    async def observe_backlog(self) -> None:
        """Sets the backlog gauges from one query (count and age of what is unpublished)."""
        if self.metrics is None:
            return
        async with self.database.transaction() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT count(*), "
                        "COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0) "
                        "FROM outbox WHERE published_at IS NULL AND quarantined IS NULL"
                    )
                )
            ).one()
        self.metrics.outbox_pending.set(int(row[0]))
        self.metrics.outbox_oldest_pending.set(max(float(row[1]), 0.0))

    async def _observe_backlog(self) -> None:
        try:
            await self.observe_backlog()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database is away: the gauges keep their last value
            _log.warning("outbox_backlog_unreadable", error=str(exc))

    async def pending(self) -> int:
        async with self.database.transaction() as session:
            count = await session.scalar(
                text(
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL AND quarantined IS NULL"
                )
            )
        return int(count or 0)
