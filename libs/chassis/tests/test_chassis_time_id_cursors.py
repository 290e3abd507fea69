"""Cursors of newest-first listings keyed by (created_at, id), and the listing parameter that
carries them: what we issue round-trips; anything else is a 400 problem, never a 500."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from chassis import BadRequest
from chassis.pagination import (
    INVALID_CURSOR_TYPE,
    InvalidCursor,
    cursor_position,
    decode_time_id_cursor,
    encode_cursor,
    encode_time_id_cursor,
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def test_round_trip_keeps_microseconds_zone_and_id() -> None:
    created_at, id_ = datetime(2025, 5, 6, 7, 8, 9, 123456, tzinfo=UTC), uuid.uuid4()
    cursor = encode_time_id_cursor(created_at, id_)
    assert "=" not in cursor
    assert decode_time_id_cursor(cursor) == (created_at, id_)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "bm90IGpzb24",  # "not json"
        "é",
        _b64(b"[1, 2]"),
        _b64(b'{"t": "2025-01-01T00:00:00+00:00", "id": "x"}'),
        encode_cursor("yesterday", str(uuid.uuid4())),
        encode_cursor("2025-01-01T00:00:00+00:00", "not-a-uuid"),
        encode_cursor("2025-01-01T00:00:00", str(uuid.uuid4())),
    ],
    ids=["garbage", "not-json", "non-ascii", "numbers", "an-object", "bad-time", "bad-id", "naive"],
)
def test_anything_we_did_not_issue_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_time_id_cursor(cursor)


def test_the_cursor_parameter_names_a_position_or_the_first_page() -> None:
    created_at, id_ = datetime(2025, 5, 6, tzinfo=UTC), uuid.uuid4()
    cursor = encode_time_id_cursor(created_at, id_)
    assert cursor_position(cursor, decode_time_id_cursor) == (created_at, id_)
    assert cursor_position(None, decode_time_id_cursor) is None
    assert cursor_position("", decode_time_id_cursor) is None


def test_a_foreign_cursor_parameter_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as caught:
        cursor_position("!!!", decode_time_id_cursor)
    assert caught.value.type == INVALID_CURSOR_TYPE
    assert caught.value.title == "Invalid cursor"
