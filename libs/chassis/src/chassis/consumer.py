"""Consuming events at least once, applying them exactly once (DESIGN.md §4).

A durable JetStream pull consumer per ``name``. With a database, every event is applied in one
transaction that also records ``(consumer, event id)`` in the inbox, so a redelivery after a
crash or a lost ack finds the event already applied and only acks it. A handler that keeps
failing is retried with backoff; after ``max_deliver`` deliveries the message goes, untouched,
to the dead-letter stream, and the consumer carries on with the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from .broker import DLQ_SUBJECT_PREFIX, BrokerUnavailable, stream_name
from .db import Database
from .event_schemas import EventSchemas
from .events import CloudEvent
from .logs import get_logger
from .metrics import ServiceMetrics
from .nats_broker import NatsBroker
from .trace_context import context_from_traceparent
from .tracing import current_tracing
from .upstream_errors import UpstreamUnavailable

Handler = Callable[[CloudEvent, AsyncSession | None], Awaitable[None]]
_log = get_logger(__name__)
OUTCOMES = ("applied", "duplicate", "retry", "dead_lettered")


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: ``applied``, ``duplicate``, ``retry`` or ``dead_lettered``."""

    status: str
    error: str | None = None


class EventConsumer:
    def __init__(
        self,
        broker: NatsBroker,
        *,
        name: str,
        stream_service: str,
        types: Sequence[str],
        handler: Handler,
        database: Database | None = None,
        schemas: EventSchemas | None = None,
        max_deliver: int = 5,
        backoff_seconds: Sequence[float] = (0.5, 1.0, 2.0, 5.0),
        batch_size: int = 32,
        ack_wait_seconds: float = 30.0,
        stop_grace_seconds: float = 5.0,
        metrics: ServiceMetrics | None = None,
        lag_refresh_seconds: float = 5.0,
    ) -> None:
        if not types:
            raise ValueError("a consumer needs at least one event type")
        self.broker = broker
        self.name = name
        self.stream = stream_name(stream_service)
        self.types = list(types)
        self.handler = handler
        self.database = database
        self._tracing = current_tracing()
        self.schemas = schemas
        self.max_deliver = max_deliver
        self.backoff_seconds = tuple(backoff_seconds) or (1.0,)
        self.batch_size = batch_size
        self.ack_wait_seconds = ack_wait_seconds
        self.stop_grace_seconds = stop_grace_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._in_hand = False  # processing a fetched batch: stop waits instead of cancelling
        self.metrics = metrics
        self.lag_refresh_seconds = lag_refresh_seconds
        self._lag_read_at = float("-inf")
        if metrics is not None:  # children bound once: a delivery costs one inc() per count
            self._outcomes = {
                o: metrics.consumer_events.labels(consumer=name, outcome=o) for o in OUTCOMES
            }
            self._redeliveries = metrics.consumer_redeliveries.labels(consumer=name)
            self._lag = metrics.consumer_pending.labels(consumer=name)

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def stop(self, *, grace_seconds: float | None = None) -> None:
        """Stops fetching; the message in hand is finished (within the grace period) and the
        rest of its batch is nak'ed, so the broker hands those out again at once rather than
        after ``ack_wait``. Idle (waiting on a fetch) it stops at once."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if self._in_hand and not task.done():
            grace = self.stop_grace_seconds if grace_seconds is None else grace_seconds
            await asyncio.wait({task}, timeout=grace)
            if not task.done():
                _log.warning("consumer_stop_grace_exceeded", consumer=self.name, grace=grace)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        _log.info("consumer_stopped", consumer=self.name)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                js = await self.broker.wait_connected()
                await self.broker.ensure_stream(self.stream.removeprefix("BAZAAR_").lower())
                subscription = await js.pull_subscribe(
                    self.types[0],
                    durable=self.name,
                    stream=self.stream,
                    config=ConsumerConfig(
                        durable_name=self.name,
                        filter_subjects=self.types,
                        ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL,
                        ack_wait=self.ack_wait_seconds,
                        # Dead-lettering is ours (below): the server must keep redelivering.
                        max_deliver=-1,
                    ),
                )
                _log.info("consumer_started", consumer=self.name, stream=self.stream)
                try:
                    await self._pull(subscription)
                finally:
                    # Otherwise each set-up leaks a subscription, and a closing connection
                    # waits for this one to drain.
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(subscription.unsubscribe(), 1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker away or consumer gone: set it up again
                _log.warning("consumer_failed", consumer=self.name, error=str(exc))
                await asyncio.sleep(1.0)

    async def _pull(self, subscription: object) -> None:
        fetch = subscription.fetch  # type: ignore[attr-defined]
        while not self._stopping:
            await self._refresh_lag(subscription)
            try:
                messages: list[Msg] = await fetch(self.batch_size, timeout=1.0)
            except TimeoutError:
                continue
            self._in_hand = True
            index = 0
            try:
                for index, message in enumerate(messages):  # noqa: B007 (read in finally)
                    if self._stopping:
                        break
                    await self.process(message)
                else:
                    index = len(messages)
            finally:
                self._in_hand = False
                # Stopping (or cancelled past the grace period, the in-hand message's
                # transaction rolled back): hand back what was fetched and not applied.
                await self._hand_back(messages[index:])

    async def _hand_back(self, messages: Sequence[Msg]) -> None:
        for message in messages:
            # Already acked (a cancel landing after the ack) or broker gone: nothing to do,
            # ack_wait redelivers in the latter case.
            with contextlib.suppress(Exception):
                await message.nak()
        if messages:
            _log.info("consumer_handed_back", consumer=self.name, messages=len(messages))

    async def _refresh_lag(self, subscription: object) -> None:
        # Asking the server costs a round trip: at most once per ``lag_refresh_seconds``.
        if self.metrics is None:
            return
        now = asyncio.get_running_loop().time()
        if now - self._lag_read_at < self.lag_refresh_seconds:
            return
        self._lag_read_at = now
        try:
            info = await subscription.consumer_info()  # type: ignore[attr-defined]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the gauge keeps its last value; consuming goes on
            _log.warning("consumer_lag_unreadable", consumer=self.name, error=str(exc))
            return
        self._lag.set(info.num_pending or 0)

    async def process(self, message: Msg) -> Outcome:
        outcome = await self._process(message)
        if self.metrics is not None:
            self._outcomes[outcome.status].inc()
        return outcome

    async def _process(self, message: Msg) -> Outcome:
        deliveries = message.metadata.num_delivered
        if self.metrics is not None and deliveries > 1:
            self._redeliveries.inc()
        try:
            event = CloudEvent.from_json(message.data)
        except Exception as exc:  # unreadable: retried, then dead-lettered like any failure
            return await self._failed(message, deliveries, exc)
        # The handler's calls, logs, statements and events continue the event's trace, under a
        # CONSUMER span whose parent is the publish (its context is in the message headers) or,
        # for events published untraced, the work that made the event.
        with self._tracing.tracer.start_as_current_span(
            f"process {event.type}",
            context=self._parent(message, event),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": message.subject,
                "messaging.consumer.group.name": self.name,
                "messaging.message.id": event.id,
                "messaging.message.delivery_count": deliveries,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                if self.schemas is not None:
                    self.schemas.validate(event)
                applied = await self.apply(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the handler's failure, whatever it is, decides retry or DLQ
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:200]))
                outcome = await self._failed(message, deliveries, exc)
            else:
                await message.ack()
                outcome = Outcome("applied" if applied else "duplicate")
                # The consumer's access log: one line per event handled, in the event's trace.
                _log.info(
                    "event_processed",
                    consumer=self.name,
                    event_type=event.type,
                    event_id=event.id,
                    outcome=outcome.status,
                    deliveries=deliveries,
                )
            span.set_attribute("bazaar.consumer.outcome", outcome.status)
            return outcome

    def _parent(self, message: Msg, event: CloudEvent) -> Context | None:
        headers = message.headers or {}
        if "traceparent" in headers:
            return self._tracing.extract(headers)
        return context_from_traceparent(event.traceparent)

    async def apply(self, event: CloudEvent) -> bool:
        """Runs the handler once per event id; False when the inbox says it already ran."""
        if self.database is None:
            await self.handler(event, None)
            return True
        async with self.database.transaction() as session:
            first_time = await session.scalar(
                text(
                    "INSERT INTO inbox (consumer, event_id, event_type) "
                    "VALUES (:consumer, :event_id, :event_type) "
                    "ON CONFLICT DO NOTHING RETURNING event_id"
                ),
                {"consumer": self.name, "event_id": event.id, "event_type": event.type},
            )
            if first_time is None:
                return False
            await self.handler(event, session)
        return True

    async def _failed(self, message: Msg, deliveries: int, exc: Exception) -> Outcome:
        error = f"{type(exc).__name__}: {exc}"[:500]
        # A dependency being down says nothing about the message: retry it for as long as that
        # lasts instead of dead-lettering good events during an outage.
        if deliveries >= self.max_deliver and not _transient(exc):
            await self.broker.publish_raw(
                f"{DLQ_SUBJECT_PREFIX}.{self.name}",
                message.data,
                msg_id=f"{self.name}:{message.metadata.sequence.stream}",
                headers={
                    "Bazaar-Consumer": self.name,
                    "Bazaar-Original-Subject": message.subject,
                    "Bazaar-Deliveries": str(deliveries),
                    "Bazaar-Error": error.replace("\n", " "),
                },
            )
            await message.ack()
            _log.error(
                "event_dead_lettered", consumer=self.name, deliveries=deliveries, error=error
            )
            return Outcome("dead_lettered", error)
        delay = self.backoff_seconds[min(deliveries, len(self.backoff_seconds)) - 1]
        await message.nak(delay=delay)
        _log.warning("event_retry", consumer=self.name, deliveries=deliveries, error=error)
        return Outcome("retry", error)


def _transient(exc: Exception) -> bool:
    return isinstance(
        exc, ConnectionError | OSError | TimeoutError | BrokerUnavailable | UpstreamUnavailable
    ) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
