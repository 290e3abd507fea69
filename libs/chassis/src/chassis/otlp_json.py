"""Spans as OTLP/JSON, one ``ExportTraceServiceRequest`` per line, in a file per process.

This is the format of the OpenTelemetry Collector's file exporter and what its ``otlpjsonfile``
receiver reads back, so a local trace store can be shipped to any backend later. Ids are hex,
64-bit integers are strings and enums are numbers, as the OTLP/JSON encoding specifies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


def _value(value: Any) -> dict[str, Any]:
    # By exact type first (the common case, one dict lookup; a bool is not taken for an int).
    encode = _BY_TYPE.get(type(value))
    if encode is not None:
        return encode(value)
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": _attributes(value)}}
    return {"arrayValue": {"values": [_value(item) for item in value]}}


_BY_TYPE: dict[type, Callable[[Any], dict[str, Any]]] = {
    str: lambda v: {"stringValue": v},
    bool: lambda v: {"boolValue": v},
    int: lambda v: {"intValue": str(v)},
    float: lambda v: {"doubleValue": v},
}


def _attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not attributes:
        return []
    return [{"key": key, "value": _value(value)} for key, value in attributes.items()]


def _span(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    encoded: dict[str, Any] = {
        "traceId": format(context.trace_id, "032x"),
        "spanId": format(context.span_id, "016x"),
        "name": span.name,
        # OTLP numbers kinds from UNSPECIFIED = 0; the Python API from INTERNAL = 0.
        "kind": span.kind.value + 1,
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or 0),
        "attributes": _attributes(span.attributes),
        "status": {"code": span.status.status_code.value},
    }
    if span.parent is not None and span.parent.is_valid:
        encoded["parentSpanId"] = format(span.parent.span_id, "016x")
    if span.status.description:
        encoded["status"]["message"] = span.status.description
    if span.events:
        encoded["events"] = [
            {
                "timeUnixNano": str(event.timestamp),
                "name": event.name,
                "attributes": _attributes(event.attributes),
            }
            for event in span.events
        ]
    if span.links:
        encoded["links"] = [
            {
                "traceId": format(link.context.trace_id, "032x"),
                "spanId": format(link.context.span_id, "016x"),
                "attributes": _attributes(link.attributes),
            }
            for link in span.links
        ]
    return encoded


def encode_spans(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """One ``ExportTraceServiceRequest``: spans grouped by resource, then by scope."""
    by_resource: dict[int, tuple[Any, dict[tuple[str, str], list[dict[str, Any]]]]] = {}
    for span in spans:
        resource = span.resource
        _, scopes = by_resource.setdefault(id(resource), (resource, {}))
        scope = span.instrumentation_scope
        key = (scope.name, scope.version or "") if scope is not None else ("", "")
        scopes.setdefault(key, []).append(_span(span))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes(resource.attributes)},
                "scopeSpans": [
                    {"scope": {"name": name, "version": version}, "spans": encoded}
                    for (name, version), encoded in scopes.items()
                ],
            }
            for resource, scopes in by_resource.values()
        ]
    }


class OtlpJsonFileExporter(SpanExporter):
    """Appends each batch as one line; past ``max_bytes`` the file moves to ``<name>.1``.

    One file per process: lines are written whole under a lock, and no two processes share a
    file, so readers never see interleaved lines (at worst a last line still being written).
    """

    def __init__(self, path: Path, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Kept open, its size tracked here: no open, stat or close per batch.
        self._file: BinaryIO | None = None
        self._size = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = orjson.dumps(encode_spans(spans)) + b"\n"
        try:
            with self._lock:
                file = self._open()
                if self._size and self._size + len(line) > self.max_bytes:
                    file.close()
                    self.path.replace(self.path.with_name(self.path.name + ".1"))
                    self._file = None
                    file = self._open()
                file.write(line)
                file.flush()
                self._size += len(line)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _open(self) -> BinaryIO:
        if self._file is None:
            self._file = self.path.open("ab")
            self._size = self._file.tell()
        return self._file

    def shutdown(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
