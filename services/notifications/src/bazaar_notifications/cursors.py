"""The opaque ``cursor`` of the notification listing: the keyset (created_at, notification_id)."""

from __future__ import annotations

import uuid
from datetime import datetime

from chassis.pagination import InvalidCursor
from chassis.pagination import decode_cursor as decode_parts
from chassis.pagination import encode_cursor as encode_parts

from .domain import ListPosition

__all__ = ["InvalidCursor", "decode_cursor", "encode_cursor"]


def encode_cursor(position: ListPosition) -> str:
    return encode_parts(position.created_at.isoformat(), str(position.notification_id))


def decode_cursor(cursor: str) -> ListPosition:
    created_at, notification_id = decode_parts(cursor, 2)
    try:
        position = ListPosition(
            created_at=datetime.fromisoformat(created_at),
            notification_id=uuid.UUID(notification_id),
        )
    except ValueError as exc:
        raise InvalidCursor() from exc
    if position.created_at.tzinfo is None:
        raise InvalidCursor()
    return position
