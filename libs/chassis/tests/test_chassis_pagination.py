"""Listing cursors: what we issue round-trips; anything else is refused, never a 500."""

from __future__ import annotations

import base64

import pytest

from chassis.pagination import InvalidCursor, decode_cursor, encode_cursor


def test_round_trip() -> None:
    cursor = encode_cursor("2026-11-22T10:00:00+00:00", "a-b")
    assert decode_cursor(cursor, 2) == ("2026-11-22T10:00:00+00:00", "a-b")
    assert "=" not in cursor


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "x" * 2000,
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'["only one"]').decode(),
        base64.urlsafe_b64encode(b'["a", 2]').decode(),
    ],
)
def test_anything_else_is_invalid(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, 2)
