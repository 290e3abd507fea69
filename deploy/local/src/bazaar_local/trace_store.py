"""Reading the local trace store: the services' spans as OTLP/JSON lines files.

Every service appends its finished spans to `<data>/traces/<service>.jsonl` (rotated files
`<service>.jsonl.1`, ... beside it), one `ExportTraceServiceRequest` per line in the standard
OTLP/JSON encoding (hex ids, int64 as strings). The spans of one trace are spread over several
files and arrive out of order, so a trace is whatever spans of every file share its id.

Reading is lenient: a line that is not such a request (a file may end in a half-written line)
is skipped and counted, never fatal.

    spans = load_trace(data_dir / "traces", trace_id)
    assert not orphans(spans)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ORDER_ID_ATTRIBUTE = "bazaar.order_id"

# OTLP `Span.SpanKind` and `Status.StatusCode` values.
KIND_UNSPECIFIED, KIND_INTERNAL, KIND_SERVER, KIND_CLIENT, KIND_PRODUCER, KIND_CONSUMER = range(6)
STATUS_UNSET, STATUS_OK, STATUS_ERROR = range(3)
# Some encoders write enums by name rather than number; both are valid OTLP/JSON.
_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": KIND_UNSPECIFIED,
    "SPAN_KIND_INTERNAL": KIND_INTERNAL,
    "SPAN_KIND_SERVER": KIND_SERVER,
    "SPAN_KIND_CLIENT": KIND_CLIENT,
    "SPAN_KIND_PRODUCER": KIND_PRODUCER,
    "SPAN_KIND_CONSUMER": KIND_CONSUMER,
}
_STATUS_NAMES = {
    "STATUS_CODE_UNSET": STATUS_UNSET,
    "STATUS_CODE_OK": STATUS_OK,
    "STATUS_CODE_ERROR": STATUS_ERROR,
}


@dataclass(frozen=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    """One finished span; times are Unix epoch nanoseconds, ids lowercase hex."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    service: str
    start_ns: int
    end_ns: int
    status_code: int = STATUS_UNSET
    status_message: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[SpanEvent, ...] = ()

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    @property
    def is_error(self) -> bool:
        return self.status_code == STATUS_ERROR


@dataclass
class SpanRead:
    """What `read_spans` found: the spans, and how many lines it had to skip."""

    spans: list[Span] = field(default_factory=list)
    skipped_lines: int = 0


def trace_files(traces_dir: Path) -> list[Path]:
    """Every `*.jsonl*` file of the store (rotated ones included); none if it does not exist."""
    if not traces_dir.is_dir():
        return []
    return sorted(path for path in traces_dir.glob("*.jsonl*") if path.is_file())


def read_spans(traces_dir: Path, *, containing: str | None = None) -> SpanRead:
    """Every span of every file of the store, each once (first copy kept).

    `containing` reads only the lines holding that text (a trace id, an attribute key): a cheap
    filter before the JSON parsing, which is what costs when the store is large.
    """
    found = SpanRead()
    seen: set[tuple[str, str]] = set()
    # Hex ids should be lowercase, but an upper-case writer must not hide its spans.
    needles = () if containing is None else (containing, containing.upper())
    for path in trace_files(traces_dir):
        fallback_service = path.name.split(".jsonl", 1)[0]
        try:
            with path.open(encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    if not line.strip() or (needles and not any(n in line for n in needles)):
                        continue
                    try:
                        spans = list(parse_request(json.loads(line), fallback_service))
                    except (ValueError, TypeError, KeyError, AttributeError):
                        found.skipped_lines += 1
                        continue
                    for span in spans:
                        key = (span.trace_id, span.span_id)
                        if key not in seen:
                            seen.add(key)
                            found.spans.append(span)
        except OSError:
            continue  # rotated away between the listing and the open
    return found


def normalize_trace_id(text: str) -> str:
    """A trace id as the store has it: lowercase hex; X-Ray form `1-5b8efff7-98038103…` too."""
    text = text.strip().lower()
    if text.startswith("1-") and text.count("-") == 2:
        text = text[2:].replace("-", "")
    return text


def load_trace(traces_dir: Path, trace_id: str) -> list[Span]:
    """Every span of one trace, by start time; empty if the store has none."""
    return read_trace(traces_dir, trace_id).spans


def read_trace(traces_dir: Path, trace_id: str) -> SpanRead:
    """`load_trace`, and how many lines that could have held its spans were unreadable."""
    wanted = normalize_trace_id(trace_id)
    found = read_spans(traces_dir, containing=wanted)
    found.spans = sorted((s for s in found.spans if s.trace_id == wanted), key=_start_order)
    return found


def last_order_trace_id(traces_dir: Path) -> str | None:
    """The trace of the newest span (by start time) carrying `bazaar.order_id`."""
    spans = read_spans(traces_dir, containing=ORDER_ID_ATTRIBUTE).spans
    tagged = [span for span in spans if ORDER_ID_ATTRIBUTE in span.attributes]
    return max(tagged, key=_start_order).trace_id if tagged else None


def roots(spans: Iterable[Span]) -> list[Span]:
    """The spans without a parent, by start time (a whole trace has exactly one)."""
    return sorted((s for s in spans if s.parent_span_id is None), key=_start_order)


def orphans(spans: Sequence[Span]) -> list[Span]:
    """The spans whose parent is not in `spans`, by start time: the parent was lost, not yet
    written, or its service never exported it (broken context propagation)."""
    ids = {span.span_id for span in spans}
    return sorted(
        (s for s in spans if s.parent_span_id is not None and s.parent_span_id not in ids),
        key=_start_order,
    )


def children_by_parent(spans: Iterable[Span]) -> dict[str, list[Span]]:
    """Each parent span id's children, by start time."""
    children: dict[str, list[Span]] = {}
    for span in spans:
        if span.parent_span_id is not None:
            children.setdefault(span.parent_span_id, []).append(span)
    for siblings in children.values():
        siblings.sort(key=_start_order)
    return children


def _start_order(span: Span) -> tuple[int, int, str]:
    return (span.start_ns, span.end_ns, span.span_id)


# -- OTLP/JSON decoding --------------------------------------------------------------------------


def parse_request(request: Mapping[str, Any], fallback_service: str = "") -> Iterator[Span]:
    """The spans of one `ExportTraceServiceRequest` (already JSON-decoded)."""
    for resource_spans in request["resourceSpans"]:
        resource = attribute_map(resource_spans.get("resource", {}).get("attributes", ()))
        service = str(resource.get("service.name") or fallback_service)
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                yield _span(span, service)


def _span(raw: Mapping[str, Any], service: str) -> Span:
    trace_id, span_id = str(raw["traceId"]).lower(), str(raw["spanId"]).lower()
    if not trace_id or not span_id:
        raise ValueError("a span needs a trace id and a span id")
    start = int(raw["startTimeUnixNano"])
    status = raw.get("status") or {}
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=str(raw.get("parentSpanId") or "").lower() or None,
        name=str(raw.get("name", "")),
        kind=_enum(raw.get("kind", KIND_UNSPECIFIED), _KIND_NAMES),
        service=service,
        start_ns=start,
        # An unfinished span exported anyway has no (or a zero) end: draw it as a point.
        end_ns=max(start, int(raw.get("endTimeUnixNano") or start)),
        status_code=_enum(status.get("code", STATUS_UNSET), _STATUS_NAMES),
        status_message=str(status.get("message", "")),
        attributes=attribute_map(raw.get("attributes", ())),
        events=tuple(
            SpanEvent(
                str(event.get("name", "")),
                int(event.get("timeUnixNano") or 0),
                attribute_map(event.get("attributes", ())),
            )
            for event in raw.get("events", ())
        ),
    )


def _enum(value: object, names: Mapping[str, int]) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, int | str):
        return int(value)
    raise ValueError(f"not an enum value: {value!r}")


def attribute_map(attributes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """OTLP `KeyValue`s as a plain dict."""
    return {str(kv["key"]): attribute_value(kv.get("value") or {}) for kv in attributes}


def attribute_value(value: Mapping[str, Any]) -> Any:
    """One OTLP `AnyValue` as a Python value (int64s arrive as strings)."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [attribute_value(item) for item in value["arrayValue"].get("values", ())]
    if "kvlistValue" in value:
        return attribute_map(value["kvlistValue"].get("values", ()))
    if "bytesValue" in value:
        return str(value["bytesValue"])
    return None
