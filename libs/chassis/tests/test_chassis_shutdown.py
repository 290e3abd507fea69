"""Graceful shutdown: SIGTERM drains in-flight requests and exits 0; the consumer finishes the
message in hand and hands back the rest; the outbox relay makes one last attempt."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncSession

from bazaar_local.nats import NatsServer
from bazaar_local.ports import free_port
from chassis import (
    CloudEvent,
    Database,
    EventConsumer,
    NatsBroker,
    OutboxRelay,
    enqueue,
    new_event,
)

TYPE = "bazaar.test.thing.happened.v1"

SERVER = """
import asyncio, sys
from pathlib import Path
from fastapi import APIRouter
from chassis import ServiceSettings, create_service_app, serve

folder = Path(sys.argv[2])
router = APIRouter()

@router.get("/slow/{n}")
async def slow(n: int) -> dict[str, int]:
    (folder / f"entered-{n}").touch()
    while not (folder / "release").exists():
        await asyncio.sleep(0.01)
    return {"n": n}

app = create_service_app(ServiceSettings(service_name="sample"), title="Sample", routers=[router])
serve(app, ServiceSettings(service_name="sample", port=int(sys.argv[1])),
      shutdown_grace_seconds=60)
"""


def wait_for(check: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what}: not in time"
        time.sleep(0.01)


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_sigterm_drains_in_flight_requests_refuses_new_ones_and_exits_0(tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(script), str(port), str(tmp_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for(lambda: accepts(port) or process.poll() is not None, "server start")
        assert process.poll() is None, (tmp_path / "server.log").read_text()

        async def scenario() -> list[httpx.Response]:
            # One connection per request, as separate clients would have.
            clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") for _ in range(3)]
            calls = [
                asyncio.create_task(c.get(f"/slow/{n}", timeout=60)) for n, c in enumerate(clients)
            ]

            def entered() -> bool:
                return len(list(tmp_path.glob("entered-*"))) == 3

            await asyncio.to_thread(wait_for, entered, "three requests in flight")
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(wait_for, lambda: not accepts(port), "listener closed")
            # Refused while the three are still in flight (nothing released them yet).
            assert not any(c.done() for c in calls)
            (tmp_path / "release").touch()
            responses = await asyncio.gather(*calls)
            for c in clients:
                await c.aclose()
            return responses

        responses = asyncio.run(scenario())
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert [r.json() for r in responses] == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    output = (tmp_path / "server.log").read_text()
    assert '"event": "stopped"' in output  # the lifespan's shutdown ran


# -- the consumer and the relay on a real NATS ------------------------------------------------


def event(n: int) -> CloudEvent:
    return new_event(source="/bazaar/test", type=TYPE, subject=str(n), data={"n": n})


async def publish(broker: NatsBroker, *numbers: int) -> None:
    for n in numbers:
        await broker.publish(event(n))


class Blocking:
    """A handler that holds its first event until released."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.steps: list[str] = []

    async def __call__(self, event: CloudEvent, _: AsyncSession | None) -> None:
        self.steps.append(f"started {event.data['n']}")
        self.entered.set()
        await self.release.wait()
        self.steps.append(f"finished {event.data['n']}")


async def redelivered(broker: NatsBroker, durable: str) -> list[Msg]:
    """What the durable consumer hands out now. The consumers below use a 60 s ack_wait, so
    anything that arrives within this fetch's 10 s was handed back, not timed out."""
    js = await broker.wait_connected()
    subscription = await js.pull_subscribe(TYPE, durable=durable, stream="BAZAAR_TEST")
    messages: list[Msg] = []
    try:
        while True:
            messages += await subscription.fetch(10, timeout=10 if not messages else 0.5)
    except TimeoutError:
        return messages
    finally:
        await subscription.unsubscribe()  # else closing the broker waits to drain it


def numbers(messages: list[Msg]) -> list[int]:
    return sorted(CloudEvent.from_json(m.data).data["n"] for m in messages)


async def test_consumer_stop_finishes_the_message_in_hand_and_hands_back_the_rest(
    broker: NatsBroker,
) -> None:
    await publish(broker, 1, 2, 3)
    handler = Blocking()
    consumer = EventConsumer(
        broker, name="test-stop", stream_service="test", types=[TYPE], handler=handler,
        ack_wait_seconds=60,
    )  # fmt: skip
    consumer.start()
    await asyncio.wait_for(handler.entered.wait(), 15)
    stopping = asyncio.create_task(consumer.stop(grace_seconds=60))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not stopping.done()  # waiting for the message in hand
    handler.release.set()
    await stopping
    assert handler.steps == ["started 1", "finished 1"]

    back = await redelivered(broker, "test-stop")
    assert numbers(back) == [2, 3]
    assert all(m.metadata.num_delivered == 2 for m in back)
    for message in back:
        await message.ack()


async def test_consumer_stop_past_its_grace_cancels_and_hands_back_everything(
    broker: NatsBroker,
) -> None:
    await publish(broker, 1, 2)
    handler = Blocking()  # never released
    consumer = EventConsumer(
        broker, name="test-stuck", stream_service="test", types=[TYPE], handler=handler,
        ack_wait_seconds=60,
    )  # fmt: skip
    consumer.start()
    await asyncio.wait_for(handler.entered.wait(), 15)
    await consumer.stop(grace_seconds=0.05)
    assert handler.steps == ["started 1"]
    assert numbers(await redelivered(broker, "test-stuck")) == [1, 2]


async def test_idle_consumer_stops_without_waiting(broker: NatsBroker, eventually: Any) -> None:
    handled: list[CloudEvent] = []

    async def handle(event: CloudEvent, _: AsyncSession | None) -> None:
        handled.append(event)

    consumer = EventConsumer(
        broker, name="test-idle", stream_service="test", types=[TYPE], handler=handle
    )
    await consumer.stop()  # never started: nothing to do
    consumer.start()
    await publish(broker, 7)
    await eventually(lambda: handled, within=15)
    assert [e.data["n"] for e in handled] == [7]
    # Idle in a fetch: stopped by cancelling it, long before any grace period would matter.
    await asyncio.wait_for(consumer.stop(grace_seconds=3600), 30)


async def stream_messages(broker: NatsBroker) -> int:
    js = await broker.wait_connected()
    return int((await js.stream_info("BAZAAR_TEST")).state.messages)


@pytest.mark.integration
async def test_relay_stop_publishes_what_was_committed_last(
    database: Database, broker: NatsBroker, eventually
) -> None:
    relay = OutboxRelay(database, broker, poll_seconds=3600)
    relay.start()

    async def idle() -> bool:
        return await relay.pending() == 0

    await eventually(idle)  # its first pass found nothing; the next is an hour away
    async with database.transaction() as session:
        await enqueue(session, event(1), event(2))  # committed, and nobody woke the relay
    await relay.stop()
    assert await relay.pending() == 0
    assert await stream_messages(broker) == 2
    await relay.stop()  # a second stop does nothing


@pytest.mark.integration
async def test_relay_stop_with_the_broker_down_keeps_the_events(
    database: Database, broker: NatsBroker, nats_server: NatsServer
) -> None:
    relay = OutboxRelay(database, broker, poll_seconds=3600, final_flush_seconds=5)
    relay.start()
    nats_server.stop()
    async with database.transaction() as session:
        await enqueue(session, event(1))
    await relay.stop()  # its last attempt fails fast (not connected); it still returns
    assert await relay.pending() == 1
