"""The listing's opaque cursor: base64url of the last item's (name, product_id)."""

from __future__ import annotations

import base64
import binascii
import uuid

import orjson

from .domain import InvalidCursor, ListingPosition

MAX_CURSOR_LENGTH = 1024


def encode_cursor(position: ListingPosition) -> str:
    raw = orjson.dumps([position.name, str(position.product_id)])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> ListingPosition:
    """Raises :class:`InvalidCursor` for anything ``encode_cursor`` could not have produced."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidCursor() from exc
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], str)
        or not isinstance(value[1], str)
    ):
        raise InvalidCursor()
    try:
        product_id = uuid.UUID(value[1])
    except ValueError as exc:
        raise InvalidCursor() from exc
    return ListingPosition(name=value[0], product_id=product_id)
