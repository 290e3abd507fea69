"""GET /notifications on PostgreSQL, fed through the consumer's inbox transaction."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from bazaar_notifications.consumer import order_event_handler
from chassis.testing import TestTokens

pytestmark = pytest.mark.integration

PROBLEMS = "https://bazaar.dev/problems/"


async def test_an_event_becomes_the_customers_notification(
    api, consumer, tokens, order_event
) -> None:
    me = uuid.uuid4()
    event = order_event("confirmed", customer_id=me, totalAmount="59.97")

    assert await consumer.apply(event) is True

    response = await api.get("/notifications", headers=tokens.headers(me))
    assert response.status_code == 200
    body = response.json()
    assert body["nextCursor"] is None
    [item] = body["items"]
    assert set(item) == {"notificationId", "orderId", "kind", "message", "createdAt"}
    assert item["orderId"] == event.data["orderId"]
    assert item["kind"] == "order_confirmed"
    assert item["message"] == (
        f"Your order {event.data['orderId'][:8]} is confirmed: total USD 59.97."
    )
    assert item["createdAt"].endswith(("Z", "+00:00"))


async def test_a_duplicate_delivery_records_one_notification(
    api, consumer, order_event, count_rows
) -> None:
    event = order_event("rejected")

    assert await consumer.apply(event) is True
    assert await consumer.apply(event) is False  # the inbox knew it

    assert await count_rows() == {"notifications": 1, "inbox": 1}


async def test_the_unique_event_id_holds_even_without_the_inbox(
    api, consumer, order_event, count_rows
) -> None:
    """The table's own guard: the same event handled twice on bare sessions, as it would be
    if the inbox were ever bypassed, still leaves one notification."""
    event = order_event("cancelled")
    handle = order_event_handler()
    for _ in range(2):
        async with consumer.database.transaction() as session:
            await handle(event, session)
    assert await count_rows() == {"notifications": 1, "inbox": 0}


async def test_an_unusable_event_writes_nothing_not_even_the_inbox_row(
    api, consumer, order_event, count_rows
) -> None:
    event = order_event("confirmed", totalAmount="lots")
    with pytest.raises(Exception, match="totalAmount"):
        await consumer.apply(event)
    assert await count_rows() == {"notifications": 0, "inbox": 0}


async def test_each_customer_sees_only_their_own(api, consumer, tokens, order_event) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    for customer in (alice, bob, alice):
        await consumer.apply(order_event("confirmed", customer_id=customer))

    alices = (await api.get("/notifications", headers=tokens.headers(alice))).json()["items"]
    bobs = (await api.get("/notifications", headers=tokens.headers(bob))).json()["items"]
    nobodys = (await api.get("/notifications", headers=tokens.headers())).json()["items"]

    assert (len(alices), len(bobs), nobodys) == (2, 1, [])
    assert not {n["notificationId"] for n in alices} & {n["notificationId"] for n in bobs}


async def test_pages_walk_every_notification_newest_first(
    api, consumer, tokens, order_event
) -> None:
    me = uuid.uuid4()
    orders = [uuid.uuid4() for _ in range(5)]
    for order in orders:
        await consumer.apply(order_event("confirmed", customer_id=me, order_id=order))

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await api.get("/notifications", params=params, headers=tokens.headers(me))
        assert response.status_code == 200
        body = response.json()
        pages += 1
        seen.extend(body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert pages == 3
    # Recorded one after another, so newest first is the reverse of the order they came in.
    assert [n["orderId"] for n in seen] == [str(o) for o in reversed(orders)]
    assert len({n["notificationId"] for n in seen}) == 5


async def test_no_token_is_401(api) -> None:
    response = await api.get("/notifications")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_token_signed_by_an_unknown_key_is_401(api) -> None:
    response = await api.get("/notifications", headers=TestTokens().headers())
    assert response.status_code == 401
    assert "unknown key" in response.json()["detail"]


async def test_a_malformed_cursor_is_400(api, tokens) -> None:
    response = await api.get(
        "/notifications", params={"cursor": "not-a-cursor"}, headers=tokens.headers()
    )
    assert response.status_code == 400
    assert response.json()["type"] == PROBLEMS + "invalid-cursor"


@pytest.mark.parametrize("limit", ["0", "101", "many"])
async def test_limit_out_of_range_is_422(api, tokens, limit: str) -> None:
    response = await api.get("/notifications", params={"limit": limit}, headers=tokens.headers())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.limit"


async def test_the_schema_is_migrated(api, db) -> None:
    async with db.connect() as conn:
        indexes = (
            await conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE tablename = 'notifications'")
            )
        ).scalars()
        definitions = " ".join(indexes)
    assert "(customer_id, created_at DESC, notification_id DESC)" in definitions
    assert "(event_id)" in definitions
