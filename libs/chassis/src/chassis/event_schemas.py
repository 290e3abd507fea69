"""The JSON Schemas of contracts/events/, one file per event type, checked before use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from .events import CloudEvent, InvalidEvent


class EventSchemas:
    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self._validators = {
            event_type: Draft202012Validator(schema, format_checker=FormatChecker())
            for event_type, schema in schemas.items()
        }

    @classmethod
    def load(cls, directory: Path) -> EventSchemas:
        files = sorted(directory.glob("*.json"))
        if not files:
            raise FileNotFoundError(f"no event schemas in {directory}")
        schemas: dict[str, dict[str, Any]] = {}
        for path in files:
            schema = json.loads(path.read_text())
            Draft202012Validator.check_schema(schema)
            schemas[path.stem] = schema
        return cls(schemas)

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._validators)

    def validate(self, event: CloudEvent) -> None:
        validator = self._validators.get(event.type)
        if validator is None:
            raise InvalidEvent(f"no schema for event type {event.type!r}")
        errors = sorted(validator.iter_errors(event.to_dict()), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "event"
            raise InvalidEvent(f"{event.type} at {where}: {errors[0].message}")
