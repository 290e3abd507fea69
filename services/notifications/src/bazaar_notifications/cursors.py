"""The opaque ``cursor`` of the notification listing: base64url of the keyset position."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

import orjson

from .domain import ListPosition, NotificationError


class InvalidCursor(NotificationError):
    pass


def encode_cursor(position: ListPosition) -> str:
    raw = orjson.dumps({"t": position.created_at.isoformat(), "id": str(position.notification_id)})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> ListPosition:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        created_at = datetime.fromisoformat(data["t"])
        notification_id = uuid.UUID(data["id"])
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise InvalidCursor("the cursor is not one this service issued") from exc
    if created_at.tzinfo is None:
        raise InvalidCursor("the cursor is not one this service issued")
    return ListPosition(created_at=created_at, notification_id=notification_id)
