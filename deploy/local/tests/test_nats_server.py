"""A real NATS JetStream server: streams, their messages and durable consumers survive restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from bazaar_local.nats import NatsServer, greets
from bazaar_local.ports import free_port

pytestmark = pytest.mark.integration

STREAM = "BAZAAR_TEST"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats", free_port(), log_file=tmp_path / "nats.log")
    server.start()
    server.wait_ready()
    try:
        yield server
    finally:
        server.stop()


def publish(url: str, *payloads: str) -> list[bool]:
    """Publishes each payload with itself as the dedup id; returns the duplicate flags."""

    async def run() -> list[bool]:
        client = await nats.connect(url, allow_reconnect=False)
        try:
            js = client.jetstream()
            await js.add_stream(StreamConfig(name=STREAM, subjects=["bazaar.test.>"]))
            acks = [
                await js.publish("bazaar.test.thing", p.encode(), headers={"Nats-Msg-Id": p})
                for p in payloads
            ]
            return [bool(ack.duplicate) for ack in acks]
        finally:
            await client.close()

    return asyncio.run(run())


def consume(url: str, until: str) -> list[str]:
    """Fetches and acks messages with the durable pull consumer `reader` up to `until`."""

    async def run() -> list[str]:
        client = await nats.connect(url, allow_reconnect=False)
        try:
            js = client.jetstream()
            sub = await js.pull_subscribe("bazaar.test.>", durable="reader", stream=STREAM)
            received: list[str] = []
            while until not in received:
                for msg in await sub.fetch(1, timeout=5):
                    await msg.ack_sync()
                    received.append(msg.data.decode())
            return received
        finally:
            await client.close()

    return asyncio.run(run())


def stored_messages(url: str) -> int:
    async def run() -> int:
        client = await nats.connect(url, allow_reconnect=False)
        try:
            info = await client.jetstream().stream_info(STREAM)
            return int(info.state.messages)
        finally:
            await client.close()

    return asyncio.run(run())


def test_server_greets_and_stops(server: NatsServer) -> None:
    assert server.is_running()
    assert server.pid is not None
    assert greets(server.port)
    assert server.url == f"nats://127.0.0.1:{server.port}"
    server.stop()
    assert not server.is_running()
    assert server.exit_code() is None  # a stop on purpose is not a crash
    assert not greets(server.port)
    server.stop()  # idempotent


@pytest.mark.parametrize("crash", [False, True], ids=["clean-stop", "sigkill"])
def test_messages_and_consumer_progress_survive_a_restart(server: NatsServer, crash: bool) -> None:
    assert publish(server.url, "one", "two", "three") == [False, False, False]
    assert consume(server.url, until="one") == ["one"]

    if crash:
        server.kill()
    else:
        server.stop()
    assert not greets(server.port)
    server.start()  # same port, same store
    server.wait_ready()

    assert stored_messages(server.url) == 3
    # The durable consumer resumes after what it acked. JetStream writes a consumer's acks to
    # disk lazily, so after a crash an acked message may come again (at-least-once: consumers
    # need their inbox); after a clean stop it does not.
    after_restart = consume(server.url, until="three")
    if crash:
        assert after_restart in (["two", "three"], ["one", "two", "three"])
    else:
        assert after_restart == ["two", "three"]
    # Dedup ids are still remembered.
    assert publish(server.url, "three", "four") == [True, False]
    assert consume(server.url, until="four") == ["four"]


def test_a_crash_is_reported_by_its_exit_code(server: NatsServer) -> None:
    assert server.exit_code() is None
    assert server.pid is not None
    os.kill(server.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server.is_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.exit_code() == -signal.SIGKILL
    server.start()  # a dead server is started again, not mistaken for a running one
    server.wait_ready()
    assert server.exit_code() is None
