"""The real wiring: NatsBroker from NATS_URL, the BAZAAR_PAYMENTS stream, the relay publishing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager

from bazaar_local.nats import NatsServer
from bazaar_payments.bootstrap import create_app
from bazaar_payments.settings import Settings
from chassis import CloudEvent, EventSchemas

pytestmark = pytest.mark.integration


async def test_events_land_in_the_payments_stream_once_each(
    settings: Settings, nats_server: NatsServer, event_schemas: EventSchemas, eventually: Any
) -> None:
    app = create_app(settings.model_copy(update={"nats_url": nats_server.url}))
    order_id = uuid.uuid4()
    body = {
        "orderId": str(order_id),
        "customerId": str(uuid.uuid4()),
        "amount": "12.34",
        "currency": "USD",
        "paymentToken": "tok_mastercard",
    }
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as api,
    ):
        assert (await api.post("/internal/payments", json=body)).status_code == 201
        assert (await api.post(f"/internal/payments/{order_id}/capture")).status_code == 200

        connection = await nats.connect(nats_server.url)
        try:
            jetstream = connection.jetstream()
            info: dict[str, int] = {}

            async def count() -> None:
                info["messages"] = (await jetstream.stream_info("BAZAAR_PAYMENTS")).state.messages

            async def two_messages() -> bool:
                await count()
                return info["messages"] >= 2

            await eventually(two_messages)
            subscription = await jetstream.pull_subscribe(
                "bazaar.payments.>", durable="payments-test", stream="BAZAAR_PAYMENTS"
            )
            messages = await subscription.fetch(2, timeout=5)
        finally:
            await connection.close()

    events = [CloudEvent.from_json(m.data) for m in messages]
    assert [e.type for e in events] == [
        "bazaar.payments.payment.authorized.v1",
        "bazaar.payments.payment.captured.v1",
    ]
    assert [m.subject for m in messages] == [e.type for e in events]
    assert [m.headers and m.headers.get("Nats-Msg-Id") for m in messages] == [e.id for e in events]
    for event in events:
        event_schemas.validate(event)
        assert event.subject == str(order_id)
        assert event.data["amount"] == "12.34"
    assert info["messages"] == 2
