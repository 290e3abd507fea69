"""CloudEvents and their schemas: what may go on the wire."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chassis import CloudEvent, EventSchemas, InvalidEvent, new_event

TYPE = "bazaar.test.thing.happened.v1"
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["specversion", "id", "source", "type", "time", "data"],
    "properties": {
        "type": {"const": TYPE},
        "data": {
            "type": "object",
            "required": ["thingId", "amount"],
            "additionalProperties": False,
            "properties": {
                "thingId": {"type": "string", "format": "uuid"},
                "amount": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"},
            },
        },
    },
}


@pytest.fixture
def schemas(tmp_path: Path) -> EventSchemas:
    (tmp_path / f"{TYPE}.json").write_text(json.dumps(SCHEMA))
    return EventSchemas.load(tmp_path)


def thing(**data: object) -> CloudEvent:
    body = {"thingId": "6f1c8a57-8a8e-4c53-9d7c-2f43e4b8a1d0", "amount": "1.50", **data}
    return new_event(source="/bazaar/test", type=TYPE, subject="s-1", data=body)


def test_round_trip_keeps_every_attribute() -> None:
    event = thing()
    again = CloudEvent.from_json(event.to_json())
    assert again == event
    assert event.to_dict()["specversion"] == "1.0"
    assert event.to_dict()["time"].endswith("Z")


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'{"id": "1"}', b'{"specversion": "0.3", "id": "1", "source": "s", '
     b'"type": "t", "time": "2026-01-01T00:00:00Z", "data": {}}'],
)  # fmt: skip
def test_garbage_is_an_invalid_event(raw: bytes) -> None:
    with pytest.raises(InvalidEvent):
        CloudEvent.from_json(raw)


def test_schema_accepts_a_good_event(schemas: EventSchemas) -> None:
    schemas.validate(thing())


@pytest.mark.parametrize(
    "data",
    [{"amount": "1.5"}, {"thingId": "not-a-uuid"}, {"extra": 1}],
)
def test_schema_rejects_bad_data(schemas: EventSchemas, data: dict[str, object]) -> None:
    with pytest.raises(InvalidEvent):
        schemas.validate(thing(**data))


def test_unknown_type_is_rejected(schemas: EventSchemas) -> None:
    event = new_event(source="/x", type="bazaar.test.other.v1", subject=None, data={})
    with pytest.raises(InvalidEvent, match="no schema"):
        schemas.validate(event)
