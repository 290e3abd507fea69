"""Events on the wire: CloudEvents 1.0 in JSON structured mode (DESIGN.md §4).

InvalidEvent      the bytes are not a CloudEvent, or it breaks its type's schema
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from .trace_context import current_traceparent

SPECVERSION = "1.0"
_REQUIRED = ("specversion", "id", "source", "type", "time", "data")


class InvalidEvent(Exception):
    pass


@dataclass(frozen=True)
class CloudEvent:
    id: str
    source: str
    type: str
    subject: str | None
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)
    traceparent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "specversion": SPECVERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": self.data,
        }
        if self.subject is not None:
            body["subject"] = self.subject
        if self.traceparent is not None:
            body["traceparent"] = self.traceparent
        return body

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> CloudEvent:
        missing = [key for key in _REQUIRED if key not in body]
        if missing:
            raise InvalidEvent(f"not a CloudEvent: missing {', '.join(missing)}")
        if body["specversion"] != SPECVERSION:
            raise InvalidEvent(f"unsupported specversion {body['specversion']!r}")
        if not isinstance(body["data"], dict):
            raise InvalidEvent("data must be a JSON object")
        try:
            time = datetime.fromisoformat(str(body["time"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidEvent(f"bad time {body['time']!r}") from exc
        return cls(
            id=str(body["id"]),
            source=str(body["source"]),
            type=str(body["type"]),
            subject=None if body.get("subject") is None else str(body["subject"]),
            time=time,
            data=dict(body["data"]),
            traceparent=body.get("traceparent"),
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidEvent("not JSON") from exc
        if not isinstance(body, dict):
            raise InvalidEvent("not a JSON object")
        return cls.from_dict(body)


def new_event(
    *,
    source: str,
    type: str,
    subject: str | None,
    data: Mapping[str, Any],
    traceparent: str | None = None,
) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=source,
        type=type,
        subject=subject,
        time=datetime.now(UTC),
        data=dict(data),
        # The work that produced the event is its parent: a consumer continues that trace.
        traceparent=traceparent or current_traceparent(),
    )
