"""The broker on NATS JetStream: durable streams, deduplicated publishes, reconnection.

The connection is made in the background and retried for ever, so a service starts (and keeps
its outbox) while the broker is down; ``publish`` raises :class:`BrokerUnavailable` until then.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from .broker import DLQ_STREAM, DLQ_SUBJECT_PREFIX, BrokerUnavailable, stream_name, stream_subjects
from .events import CloudEvent
from .faults import broker_fault_check, current_faults
from .logs import get_logger

_log = get_logger(__name__)
DEDUP_WINDOW_SECONDS = 120.0
RETENTION_SECONDS = 7 * 24 * 3600.0
DRAIN_SECONDS = 2.0


class NatsBroker:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        publish_timeout: float = 2.0,
        reconnect_wait: float = 0.5,
    ) -> None:
        self.url = url
        self.name = name
        self.publish_timeout = publish_timeout
        self.reconnect_wait = reconnect_wait
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._streams: set[str] = {DLQ_STREAM}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._faults = current_faults()

    # -- connection ----------------------------------------------------------------------

    async def connect(self, *, wait_seconds: float = 0.0) -> None:
        """Starts connecting; waits up to ``wait_seconds`` for the first connection."""
        if self._task is None:
            self._task = asyncio.create_task(self._connect_forever(), name=f"nats-{self.name}")
        if wait_seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), wait_seconds)

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected and self._ready.is_set()

    async def wait_connected(self) -> JetStreamContext:
        await self._ready.wait()
        assert self._js is not None
        return self._js

    async def check(self) -> None:
        """Readiness: raises unless connected."""
        if not self.connected:
            raise BrokerUnavailable(f"not connected to {self.url}")

    async def _connect_forever(self) -> None:
        delay = self.reconnect_wait
        while True:
            try:
                self._nc = await nats.connect(
                    servers=[self.url],
                    name=self.name,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=self.reconnect_wait,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    error_cb=self._on_error,
                )
                self._js = self._nc.jetstream(timeout=self.publish_timeout)
                await self._ensure_streams()
                self._ready.set()
                _log.info("broker_connected", url=self.url)
                return
            except Exception as exc:  # any failure: the broker is not there yet, try again
                _log.warning("broker_connect_failed", url=self.url, error=str(exc))
                if self._nc is not None:
                    with contextlib.suppress(Exception):
                        await self._nc.close()
                    self._nc = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _on_disconnected(self) -> None:
        _log.warning("broker_disconnected", url=self.url)

    async def _on_reconnected(self) -> None:
        _log.info("broker_reconnected", url=self.url)
        # A broker that lost its store comes back without our streams.
        with contextlib.suppress(Exception):
            await self._ensure_streams()

    async def _on_error(self, exc: Exception) -> None:
        _log.debug("broker_error", error=str(exc))

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._nc is not None:
            # Bounded: a drain waits on every subscription's pending messages, and shutdown
            # must finish inside the process's grace period.
            try:
                await asyncio.wait_for(self._nc.drain(), DRAIN_SECONDS)
            except Exception:  # timed out or already broken: just close
                with contextlib.suppress(Exception):
                    await self._nc.close()
            self._nc = None
        self._ready.clear()

    # -- streams ---------------------------------------------------------------------------

    async def ensure_stream(self, service: str) -> None:
        """The stream a producer publishes to: created now if connected, else on connect."""
        self._streams.add(stream_name(service))
        if self._js is not None:
            await self._ensure_stream(stream_name(service))

    async def _ensure_streams(self) -> None:
        for name in sorted(self._streams):
            await self._ensure_stream(name)

    async def _ensure_stream(self, name: str) -> None:
        assert self._js is not None
        if name == DLQ_STREAM:
            subjects = [f"{DLQ_SUBJECT_PREFIX}.>"]
        else:
            subjects = stream_subjects(name.removeprefix("BAZAAR_").lower())
        config = StreamConfig(
            name=name,
            subjects=subjects,
            storage=StorageType.FILE,
            duplicate_window=DEDUP_WINDOW_SECONDS,
            max_age=RETENTION_SECONDS,
        )
        try:
            await self._js.add_stream(config)
        except BadRequestError:
            await self._js.update_stream(config)

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, event: CloudEvent, headers: Mapping[str, str] | None = None) -> None:
        await self.publish_raw(event.type, event.to_json(), msg_id=event.id, headers=headers)

    async def publish_raw(
        self,
        subject: str,
        payload: bytes,
        *,
        msg_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        broker_fault_check(self._faults)
        if not self.connected or self._js is None:
            raise BrokerUnavailable(f"not connected to {self.url}")
        try:
            # Nats-Msg-Id makes a re-publish after a lost ack a no-op within the window.
            await self._js.publish(
                subject, payload, headers={"Nats-Msg-Id": msg_id, **(headers or {})}
            )
        except Exception as exc:  # timeouts, disconnects, no responders: all "not now"
            raise BrokerUnavailable(f"publish to {subject} failed: {exc!r}") from exc
