"""Outbox → NATS JetStream → inbox, on the real broker and the real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bazaar_local.nats import NatsServer
from chassis import (
    CloudEvent,
    Database,
    EventConsumer,
    EventSchemas,
    NatsBroker,
    OutboxRelay,
    enqueue,
    new_event,
)

pytestmark = pytest.mark.integration

TYPE = "bazaar.test.thing.happened.v1"


@pytest.fixture
def schemas(tmp_path: Path) -> EventSchemas:
    folder = tmp_path / "events"
    folder.mkdir()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
        },
    }
    (folder / f"{TYPE}.json").write_text(json.dumps(schema))
    return EventSchemas.load(folder)


def event(n: object) -> CloudEvent:
    return new_event(source="/bazaar/test", type=TYPE, subject=str(n), data={"n": n})


async def record(event: CloudEvent, session: AsyncSession | None) -> None:
    assert session is not None
    await session.execute(
        text("INSERT INTO applied VALUES (:id, :n)"), {"id": event.id, "n": event.data["n"]}
    )


async def applied(db: Database) -> list[int]:
    async with db.transaction() as session:
        rows = (await session.execute(text("SELECT n FROM applied ORDER BY n"))).all()
    return [r[0] for r in rows]


async def test_committed_events_are_published_and_applied_once(
    database: Database, broker: NatsBroker, schemas: EventSchemas, eventually
) -> None:
    async with database.transaction() as session:
        await enqueue(session, *(event(n) for n in range(5)))

    async def failed_change() -> None:
        async with database.transaction() as session:
            await enqueue(session, event(99))
            raise RuntimeError("the state change failed, so the event never existed")

    with pytest.raises(RuntimeError):
        await failed_change()

    relay = OutboxRelay(database, broker, schemas=schemas)
    assert await relay.publish_pending() == 5
    assert await relay.publish_pending() == 0
    consumer = EventConsumer(
        broker, name="test-applier", stream_service="test", types=[TYPE],
        handler=record, database=database, schemas=schemas,
    )  # fmt: skip
    consumer.start()
    try:
        await eventually(lambda: _has(database, 5))
        # The same events again (a relay that crashed before marking them sent, after the
        # dedup window): the inbox makes them no-ops.
        js = await broker.wait_connected()
        async with database.transaction() as session:
            payloads = (await session.execute(text("SELECT payload::text FROM outbox"))).all()
        for (payload,) in payloads:
            await js.publish(TYPE, payload.encode())
        await eventually(lambda: _drained(broker, "test-applier"))
    finally:
        await consumer.stop()
    assert await applied(database) == [0, 1, 2, 3, 4]


async def _has(db: Database, count: int) -> bool:
    return len(await applied(db)) == count


async def _drained(broker: NatsBroker, consumer: str) -> bool:
    js = await broker.wait_connected()
    info = await js.consumer_info("BAZAAR_TEST", consumer)
    return info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq == 10


async def test_poison_message_is_dead_lettered_and_the_rest_flow(
    database: Database, broker: NatsBroker, schemas: EventSchemas, eventually
) -> None:
    async with database.transaction() as session:
        await enqueue(session, event(1), event(2))
    await OutboxRelay(database, broker).publish_pending()
    js = await broker.wait_connected()
    poison = event("not a number")  # breaks the schema: retried, then dead-lettered
    await js.publish(TYPE, poison.to_json(), headers={"Nats-Msg-Id": poison.id})
    await js.publish(TYPE, b"{not even json")
    async with database.transaction() as session:
        await enqueue(session, event(3))
    await OutboxRelay(database, broker).publish_pending()

    consumer = EventConsumer(
        broker, name="test-poison", stream_service="test", types=[TYPE], handler=record,
        database=database, schemas=schemas, max_deliver=3, backoff_seconds=(0.05,),
    )  # fmt: skip
    consumer.start()
    try:
        await eventually(lambda: _has(database, 3))
        await eventually(lambda: _dead_letters(broker, 2))
    finally:
        await consumer.stop()
    assert await applied(database) == [1, 2, 3]
    dead = await js.get_last_msg("BAZAAR_DLQ", "bazaar.dlq.test-poison")
    assert dead.headers is not None
    assert dead.headers["Bazaar-Deliveries"] == "3"


async def _dead_letters(broker: NatsBroker, count: int) -> bool:
    js = await broker.wait_connected()
    info = await js.stream_info("BAZAAR_DLQ")
    return info.state.messages == count


async def test_relay_catches_up_after_a_broker_outage(
    database: Database, broker: NatsBroker, nats_server: NatsServer, eventually
) -> None:
    consumer = EventConsumer(
        broker, name="test-outage", stream_service="test", types=[TYPE], handler=record,
        database=database,
    )  # fmt: skip
    consumer.start()
    relay = OutboxRelay(database, broker, poll_seconds=0.05, max_backoff_seconds=0.2)
    relay.start()
    try:
        async with database.transaction() as session:
            await enqueue(session, event(1))
        relay.wake()
        await eventually(lambda: _has(database, 1))

        nats_server.stop()
        async with database.transaction() as session:
            await enqueue(session, *(event(n) for n in range(2, 12)))
        relay.wake()
        await eventually(lambda: _pending(relay, 10))
        nats_server.start()  # same port, same store: the stream and the consumer survive
        nats_server.wait_ready()
        await eventually(lambda: _has(database, 11), within=30)
        assert await relay.pending() == 0
    finally:
        await relay.stop()
        await consumer.stop()
    assert await applied(database) == list(range(1, 12))


async def _pending(relay: OutboxRelay, count: int) -> bool:
    return await relay.pending() == count


async def test_schema_breaking_outbox_event_is_quarantined_not_published(
    database: Database, broker: NatsBroker, schemas: EventSchemas
) -> None:
    async with database.transaction() as session:
        await enqueue(session, event("bad"), event(7))
    relay = OutboxRelay(database, broker, schemas=schemas)
    assert await relay.publish_pending() == 1
    async with database.transaction() as session:
        quarantined = await session.scalar(
            text("SELECT count(*) FROM outbox WHERE quarantined IS NOT NULL")
        )
    assert quarantined == 1
    assert await relay.pending() == 0
