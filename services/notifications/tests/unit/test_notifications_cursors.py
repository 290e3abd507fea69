"""The listing cursor: opaque, round-trips, and refuses anything it did not issue."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from bazaar_notifications.cursors import InvalidCursor, decode_cursor, encode_cursor
from bazaar_notifications.domain import ListPosition


def test_round_trip() -> None:
    position = ListPosition(datetime(2025, 5, 1, 8, 30, 1, 123456, tzinfo=UTC), uuid.uuid4())
    cursor = encode_cursor(position)
    assert "=" not in cursor
    assert decode_cursor(cursor) == position


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "bm90IGpzb24",  # "not json"
        base64.urlsafe_b64encode(
            b'{"t": "2025-01-01T00:00:00", "id": "' + str(uuid.uuid4()).encode() + b'"}'
        ).decode(),
        base64.urlsafe_b64encode(b'{"t": "2025-01-01T00:00:00+00:00", "id": "x"}').decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
    ],
)
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)
