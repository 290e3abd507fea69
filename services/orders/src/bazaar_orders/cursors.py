"""The opaque ``cursor`` of the order listing: the keyset position (created_at, order_id)."""

from __future__ import annotations

from chassis.pagination import InvalidCursor, decode_time_id_cursor, encode_time_id_cursor

from .domain import ListPosition

__all__ = ["InvalidCursor", "decode_cursor", "encode_cursor"]


def encode_cursor(position: ListPosition) -> str:
    return encode_time_id_cursor(position.created_at, position.order_id)


def decode_cursor(cursor: str) -> ListPosition:
    return ListPosition(*decode_time_id_cursor(cursor))
