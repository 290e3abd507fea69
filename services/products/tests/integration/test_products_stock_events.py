"""Stock events through the outbox: written with the reservation, published by the relay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from nats.js.errors import NotFoundError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bazaar_products.bootstrap import create_app
from chassis import CloudEvent, EventSchemas

pytestmark = pytest.mark.integration

RESERVED = "bazaar.products.stock.reserved.v1"
RELEASED = "bazaar.products.stock.released.v1"


@pytest.fixture
async def outbox(database_url: str) -> AsyncIterator[object]:
    """Reads the outbox table directly: what was written, and what the relay marked sent."""
    engine = create_async_engine(database_url)

    class Outbox:
        async def types(self) -> list[str]:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT event_type FROM outbox ORDER BY seq"))
                return list(rows.scalars())

        async def unpublished(self) -> int:
            async with engine.connect() as conn:
                count = await conn.scalar(
                    text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                )
                return int(count or 0)

    yield Outbox()
    await engine.dispose()


def _reservation(order: uuid.UUID, *lines: tuple[dict, int]) -> dict:
    return {
        "orderId": str(order),
        "items": [{"productId": p["productId"], "quantity": q} for p, q in lines],
    }


async def test_a_reservation_and_its_release_are_announced_once_each(
    client, create_product, broker, outbox, eventually, settings
) -> None:
    mug, pen = await create_product("Mug", inventory=5), await create_product("Pen", inventory=5)
    order = uuid.uuid4()
    body = _reservation(order, (mug, 2), (pen, 1))

    assert (await client.post("/internal/reservations", json=body)).status_code == 201
    assert await outbox.types() == [RESERVED]
    assert (await client.post("/internal/reservations", json=body)).status_code == 200
    assert (await client.post(f"/internal/reservations/{order}/release")).status_code == 200
    assert (await client.post(f"/internal/reservations/{order}/release")).status_code == 200

    assert await outbox.types() == [RESERVED, RELEASED]
    await eventually(lambda: len(broker.published) == 2)

    async def all_marked_sent() -> bool:
        # The relay marks rows sent in the transaction it publishes from, just after publishing.
        return await outbox.unpublished() == 0

    await eventually(all_marked_sent)
    schemas = EventSchemas.load(settings.event_schemas_dir)
    items = sorted(
        [
            {"productId": mug["productId"], "quantity": 2},
            {"productId": pen["productId"], "quantity": 1},
        ],
        key=lambda i: i["productId"],
    )
    for event, event_type in zip(broker.published, (RESERVED, RELEASED), strict=True):
        schemas.validate(event)
        assert (event.type, event.subject) == (event_type, str(order))
        assert event.data == {"orderId": str(order), "items": items}
    assert len({e.id for e in broker.published}) == 2


async def test_refusals_and_tombstones_announce_nothing(client, create_product, outbox) -> None:
    scarce = await create_product("Scarce", inventory=1)
    short = await client.post(
        "/internal/reservations", json=_reservation(uuid.uuid4(), (scarce, 2))
    )
    assert short.status_code == 409
    unknown = await client.post(
        "/internal/reservations",
        json=_reservation(uuid.uuid4(), ({"productId": str(uuid.uuid4())}, 1)),
    )
    assert unknown.status_code == 422
    tombstone = await client.post(f"/internal/reservations/{uuid.uuid4()}/release")
    assert tombstone.status_code == 200

    assert await outbox.types() == []


async def test_concurrent_repeats_announce_one_reservation(client, create_product, outbox) -> None:
    mug = await create_product("Mug", inventory=50)
    body = _reservation(uuid.uuid4(), (mug, 1))
    answers = await asyncio.gather(
        *(client.post("/internal/reservations", json=body) for _ in range(6))
    )
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert await outbox.types() == [RESERVED]


async def test_events_wait_in_the_outbox_while_the_broker_is_down(
    client, create_product, broker, outbox, eventually
) -> None:
    broker.fail = True
    mug = await create_product("Mug", inventory=5)
    order = uuid.uuid4()

    reserved = await client.post("/internal/reservations", json=_reservation(order, (mug, 1)))

    assert reserved.status_code == 201  # the broker is never on the request's path
    assert await outbox.unpublished() == 1
    broker.fail = False
    await eventually(lambda: [e.subject for e in broker.published] == [str(order)])

    async def all_sent() -> bool:
        return await outbox.unpublished() == 0

    await eventually(all_sent)


async def test_on_nats_the_event_lands_in_the_products_stream(
    settings, tokens, admin_headers, nats_server, eventually
) -> None:
    """The real wiring: NatsBroker from NATS_URL, BAZAAR_PRODUCTS created, relay publishing."""
    app = create_app(
        settings.model_copy(update={"nats_url": nats_server.url}), token_verifier=tokens.verifier
    )
    order = uuid.uuid4()
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as client,
    ):
        product = await client.post(
            "/products",
            json={"sku": "MUG-1", "name": "Mug", "price": "9.99", "inventory": 3},
            headers=admin_headers,
        )
        assert product.status_code == 201
        reserved = await client.post(
            "/internal/reservations", json=_reservation(order, (product.json(), 1))
        )
        assert reserved.status_code == 201

        connection = await nats.connect(nats_server.url)
        try:
            jetstream = connection.jetstream()

            async def in_stream() -> bool:
                try:
                    info = await jetstream.stream_info("BAZAAR_PRODUCTS")
                except NotFoundError:
                    return False
                return info.state.messages == 1

            await eventually(in_stream)
            message = await jetstream.get_last_msg("BAZAAR_PRODUCTS", RESERVED)
        finally:
            await connection.close()
    event = CloudEvent.from_json(message.data)
    EventSchemas.load(settings.event_schemas_dir).validate(event)
    assert event.subject == str(order)
    assert message.headers is not None
    assert message.headers["Nats-Msg-Id"] == event.id
