"""The listing's opaque cursor: the last item's (name, product_id)."""

from __future__ import annotations

import uuid

from chassis import pagination

from .domain import InvalidCursor, ListingPosition


def encode_cursor(position: ListingPosition) -> str:
    return pagination.encode_cursor(position.name, str(position.product_id))


def decode_cursor(cursor: str) -> ListingPosition:
    """Raises :class:`InvalidCursor` for anything ``encode_cursor`` could not have produced."""
    try:
        name, product_id = pagination.decode_cursor(cursor, 2)
        return ListingPosition(name=name, product_id=uuid.UUID(product_id))
    except ValueError as exc:  # pagination.InvalidCursor included
        raise InvalidCursor() from exc
