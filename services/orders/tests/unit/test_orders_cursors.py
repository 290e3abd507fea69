"""The listing cursor round-trips and refuses anything it did not issue."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from bazaar_orders.cursors import InvalidCursor, decode_cursor, encode_cursor
from bazaar_orders.domain import ListPosition


def test_round_trip_keeps_microseconds_and_id() -> None:
    position = ListPosition(datetime(2025, 5, 6, 7, 8, 9, 123456, tzinfo=UTC), uuid.uuid4())
    cursor = encode_cursor(position)
    assert "=" not in cursor
    assert decode_cursor(cursor) == position


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"t": "yesterday", "id": "x"}').decode(),
        base64.urlsafe_b64encode(
            b'{"t": "2025-01-01T00:00:00", "id": "%s"}' % str(uuid.uuid4()).encode()
        ).decode(),
        "é",
    ],
    ids=["garbage", "not-an-object", "bad-values", "naive-time", "non-ascii"],
)
def test_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)
