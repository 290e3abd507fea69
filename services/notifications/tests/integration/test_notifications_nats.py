"""The consumer on a real NATS JetStream: exactly one notification per event, poison to DLQ."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from bazaar_local.nats import NatsServer
from bazaar_local.ports import free_port
from bazaar_notifications.bootstrap import create_app
from bazaar_notifications.settings import Settings
from chassis import NatsBroker

pytestmark = pytest.mark.integration

MAX_DELIVER = 3


@pytest.fixture
async def producer(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    """Publishes as the orders service does: into BAZAAR_ORDERS, deduplicated by event id."""
    broker = NatsBroker(nats_server.url, name="test-orders")
    await broker.connect(wait_seconds=10)
    await broker.ensure_stream("orders")
    yield broker
    await broker.close()


@pytest.fixture
async def jetstream(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    client = await nats.connect(nats_server.url)
    yield client.jetstream()
    await client.close()


def _with_nats(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"nats_url": url, "consumer_max_deliver": MAX_DELIVER})


async def test_each_event_once_and_the_poison_one_in_the_dlq(
    client_for,
    settings,
    tokens,
    nats_server,
    producer,
    jetstream,
    order_event,
    count_rows,
    eventually,
) -> None:
    me = uuid.uuid4()
    app = create_app(
        _with_nats(settings, nats_server.url),
        token_verifier=tokens.verifier,
        consumer_backoff_seconds=(0.05,),
    )
    valid = [
        order_event("confirmed", customer_id=me),
        order_event("rejected", customer_id=me),
        order_event("cancelled", customer_id=me),
    ]
    poison = order_event("confirmed", customer_id=me, totalAmount=59.97)  # a number: invalid
    async with LifespanManager(app), client_for(app) as api:
        for event in (valid[0], poison, valid[1], valid[2]):
            await producer.publish(event)
        # The same event again: once with its own id (the broker drops it within the dedup
        # window) and once under another message id (delivered; the inbox skips it).
        await producer.publish(valid[0])
        await producer.publish_raw(valid[0].type, valid[0].to_json(), msg_id="a-second-copy")

        async def drained() -> bool:
            try:
                info = await jetstream.consumer_info("BAZAAR_ORDERS", "notifications")
            except NotFoundError:  # the service has not set its consumer up yet
                return False
            dlq = await jetstream.stream_info("BAZAAR_DLQ")
            return info.num_pending == 0 and info.num_ack_pending == 0 and dlq.state.messages == 1

        await eventually(drained)
        assert await count_rows() == {"notifications": 3, "inbox": 3}

        dead = await jetstream.get_last_msg("BAZAAR_DLQ", "bazaar.dlq.notifications")
        assert dead.data == poison.to_json()
        assert dead.headers is not None
        assert dead.headers["Bazaar-Deliveries"] == str(MAX_DELIVER)
        assert dead.headers["Bazaar-Original-Subject"] == poison.type
        assert "totalAmount" in dead.headers["Bazaar-Error"]

        items = (await api.get("/notifications", headers=tokens.headers(me))).json()["items"]
        assert sorted(n["kind"] for n in items) == [
            "order_cancelled",
            "order_confirmed",
            "order_rejected",
        ]
        ready = await api.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"]["broker"] == "ok"


async def test_starts_without_nats_and_catches_up_when_it_arrives(
    client_for, settings, tokens, nats_dir: Path, order_event, count_rows, eventually
) -> None:
    port = free_port()
    server = NatsServer(nats_dir, port)
    app = create_app(_with_nats(settings, server.url), token_verifier=tokens.verifier)
    try:
        async with LifespanManager(app), client_for(app) as api:
            not_ready = await api.get("/ready")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"]["broker"].startswith("failed")
            assert not_ready.json()["checks"]["database"] == "ok"
            # The API does not need the broker.
            assert (await api.get("/notifications", headers=tokens.headers())).status_code == 200

            server.start()
            server.wait_ready()

            async def ready() -> bool:
                return (await api.get("/ready")).status_code == 200

            await eventually(ready)
            producer = NatsBroker(server.url, name="test-orders")
            await producer.connect(wait_seconds=10)
            try:
                await producer.ensure_stream("orders")
                await producer.publish(order_event("confirmed"))
            finally:
                await producer.close()

            async def recorded() -> bool:
                return (await count_rows())["notifications"] == 1

            await eventually(recorded)
    finally:
        server.stop()


async def test_the_api_alone_needs_no_broker(api: httpx.AsyncClient) -> None:
    ready = await api.get("/ready")
    assert ready.status_code == 200
    assert "broker" not in ready.json()["checks"]
