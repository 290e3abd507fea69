"""Raw NATS JetStream publish → consume latency, the event-lag baseline: the same server the
system uses, a file-backed stream and a durable pull consumer fetching in batches and acking
each message, as the chassis's relay and consumers do (`Nats-Msg-Id` on every publish)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import StorageType, StreamConfig

from .stats import percentile


async def publish_consume_latencies(
    nats_url: str, *, rate: float, seconds: float, batch: int = 32
) -> list[float]:
    """Publishes at `rate` per second for `seconds`; each message's latency in ms."""
    tag = uuid.uuid4().hex[:10]
    stream, subject = f"BENCH_LAG_{tag}", f"bench.lag.{tag}"
    connection = await nats.connect(nats_url)
    latencies: list[float] = []
    try:
        js = connection.jetstream()
        await js.add_stream(StreamConfig(name=stream, subjects=[subject], storage=StorageType.FILE))
        subscription = await js.pull_subscribe(subject, durable=f"bench-{tag}", stream=stream)
        published = 0
        done_publishing = asyncio.Event()

        async def consume() -> None:
            while not (done_publishing.is_set() and len(latencies) >= published):
                try:
                    messages = await subscription.fetch(batch, timeout=0.5)
                except NatsTimeoutError:
                    continue
                for message in messages:
                    latencies.append((time.monotonic_ns() - int(message.data)) / 1e6)
                    await message.ack()

        consumer = asyncio.create_task(consume())
        started = time.monotonic()
        for n in range(max(1, int(rate * seconds))):
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            payload = str(time.monotonic_ns()).encode()
            await js.publish(subject, payload, headers={"Nats-Msg-Id": uuid.uuid4().hex})
            published += 1
        done_publishing.set()
        try:
            await asyncio.wait_for(consumer, timeout=30)
        except TimeoutError:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
        with contextlib.suppress(Exception):
            await js.delete_stream(stream)
    finally:
        await connection.close()
    return latencies


def summarize(latencies: list[float]) -> dict[str, float]:
    return {
        "count": float(len(latencies)),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }
