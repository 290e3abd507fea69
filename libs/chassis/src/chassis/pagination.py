"""Opaque listing cursors: base64url of the keyset position, as a short JSON array of strings.

Services map their own keyset (created_at and id, name and id, …) onto the parts; the
encoding, its limits and what counts as "not a cursor we issued" live here once.
"""

from __future__ import annotations

import base64
import binascii

import orjson

MAX_CURSOR_LENGTH = 1024


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
