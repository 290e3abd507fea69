"""The listing cursor: round trips, and anything we did not issue is refused."""

from __future__ import annotations

import base64
import uuid

import pytest

from bazaar_products.cursor import decode_cursor, encode_cursor
from bazaar_products.domain import InvalidCursor, ListingPosition


@pytest.mark.parametrize("name", ["Mug", "", 'Café — 10" ✓', "a,b/c+d=e"])
def test_cursor_round_trips(name: str) -> None:
    position = ListingPosition(name=name, product_id=uuid.uuid4())
    cursor = encode_cursor(position)
    assert decode_cursor(cursor) == position
    assert "=" not in cursor
    assert all(c.isalnum() or c in "-_" for c in cursor)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("not base64 at all!", id="garbage"),
        pytest.param("é", id="non-ascii"),
        pytest.param(_b64(b"{not json"), id="not json"),
        pytest.param(_b64(b'{"name": "x"}'), id="object"),
        pytest.param(_b64(b'["x"]'), id="one element"),
        pytest.param(_b64(b'["x", "not-a-uuid"]'), id="bad uuid"),
        pytest.param(_b64(b'[1, "6f0b8a8e-4c3e-5b5a-9d3e-2b7a1c0e9f41"]'), id="name not text"),
        pytest.param("A" * 2000, id="too long"),
    ],
)
def test_malformed_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)
