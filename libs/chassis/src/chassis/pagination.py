"""Opaque listing cursors: base64url of the keyset position, as a short JSON array of strings.

Services map their own keyset (created_at and id, name and id, …) onto the parts; the
encoding, its limits and what counts as "not a cursor we issued" live here once.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

import orjson
from fastapi import Query

from .errors import BadRequest

MAX_CURSOR_LENGTH = 1024
INVALID_CURSOR_TYPE = "https://bazaar.dev/problems/invalid-cursor"

P = TypeVar("P")


class InvalidCursor(ValueError):
    def __init__(self, message: str = "the cursor is not one this service issued") -> None:
        super().__init__(message)


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, parts: int) -> tuple[str, ...]:
    """The parts ``encode_cursor`` was given; :class:`InvalidCursor` for anything else."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    if not (
        isinstance(value, list) and len(value) == parts and all(isinstance(p, str) for p in value)
    ):
        raise InvalidCursor()
    return tuple(value)


def encode_time_id_cursor(created_at: datetime, id_: uuid.UUID) -> str:
    """The cursor of a newest-first listing keyed by (created_at, id)."""
    return encode_cursor(created_at.isoformat(), str(id_))


def decode_time_id_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """What ``encode_time_id_cursor`` was given; :class:`InvalidCursor` for anything else,
    a time without its zone included (no listing stores one)."""
    created_at, id_ = decode_cursor(cursor, 2)
    try:
        position = datetime.fromisoformat(created_at), uuid.UUID(id_)
    except ValueError as exc:
        raise InvalidCursor() from exc
    if position[0].tzinfo is None:
        raise InvalidCursor()
    return position


# The ``limit`` and ``cursor`` query parameters of a listing endpoint.
PageLimit = Annotated[int, Query(ge=1, le=100)]
PageCursor = Annotated[str | None, Query(max_length=512)]


def cursor_position(cursor: str | None, decode: Callable[[str], P]) -> P | None:
    """The position a listing's ``cursor`` parameter names (``None`` for the first page); a
    400 ``invalid-cursor`` problem for a cursor this service did not issue."""
    if not cursor:
        return None
    try:
        return decode(cursor)
    except InvalidCursor as exc:
        raise BadRequest(
            "The cursor is malformed; use nextCursor from a previous page.",
            title="Invalid cursor",
            type=INVALID_CURSOR_TYPE,
        ) from exc
