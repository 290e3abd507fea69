"""Reading the local trace store: OTLP/JSON lines over several files, leniently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from bazaar_local.trace_store import (
    KIND_CLIENT,
    KIND_SERVER,
    STATUS_ERROR,
    last_order_trace_id,
    load_trace,
    normalize_trace_id,
    orphans,
    read_spans,
    read_trace,
    roots,
)
from chassis.otlp_json import OtlpJsonFileExporter

TRACE = "5b8efff798038103d269b633813fc60c"
OTHER = "0af7651916cd43dd8448eb211c80319c"


def test_a_trace_is_gathered_from_every_file_in_start_order(trace_files: Any) -> None:
    # Written out of order, across services and a rotated file, with another trace between.
    trace_files.write(
        "orders",
        trace_files.span("POST /orders", trace=TRACE, span_id="b1", parent="a2", start_ms=2),
        file="orders.jsonl.1",
    )
    trace_files.write("gateway", trace_files.span("GET /x", trace=OTHER, span_id="f1"))
    trace_files.write(
        "gateway",
        trace_files.span("POST orders", trace=TRACE, span_id="a2", parent="a1", start_ms=1),
        trace_files.span("POST /orders", trace=TRACE, span_id="a1", start_ms=0, kind=2),
    )

    spans = load_trace(trace_files.dir, TRACE)

    assert [s.span_id for s in spans] == ["a1", "a2", "b1"]
    assert [s.service for s in spans] == ["gateway", "gateway", "orders"]
    assert [s.span_id for s in roots(spans)] == ["a1"]
    assert orphans(spans) == []


def test_spans_are_decoded_from_the_otlp_json_encoding(trace_files: Any) -> None:
    trace_files.write(
        "payments",
        trace_files.span(
            "authorize",
            trace=TRACE.upper(),  # ids are hex: case does not matter
            span_id="C1",
            parent="A1",
            start_ms=10,
            duration_ms=25,
            kind=KIND_CLIENT,
            error="card declined",
            attributes={"bazaar.order_id": "o-1", "http.response.status_code": 402,
                        "retry": True, "ratio": 0.5},
        ),
    )  # fmt: skip

    (span,) = load_trace(trace_files.dir, TRACE)

    assert (span.span_id, span.parent_span_id, span.kind) == ("c1", "a1", KIND_CLIENT)
    assert span.duration_ns == 25_000_000
    assert span.status_code == STATUS_ERROR
    assert span.is_error
    assert span.status_message == "card declined"
    assert span.attributes == {
        "bazaar.order_id": "o-1",
        "http.response.status_code": 402,
        "retry": True,
        "ratio": 0.5,
    }


def test_enums_by_name_events_and_arrays_are_understood(trace_files: Any) -> None:
    request = {
        "resourceSpans": [
            {
                "resource": {},  # no service.name: the file's name says whose it is
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": TRACE,
                                "spanId": "d1",
                                "parentSpanId": "",
                                "name": "consume",
                                "kind": "SPAN_KIND_CONSUMER",
                                "startTimeUnixNano": "1000",
                                "endTimeUnixNano": "0",
                                "attributes": [
                                    {
                                        "key": "tags",
                                        "value": {
                                            "arrayValue": {
                                                "values": [{"stringValue": "a"}, {"intValue": "2"}]
                                            }
                                        },
                                    }
                                ],
                                "events": [
                                    {
                                        "timeUnixNano": "1500",
                                        "name": "exception",
                                        "attributes": [
                                            {
                                                "key": "exception.type",
                                                "value": {"stringValue": "KeyError"},
                                            }
                                        ],
                                    }
                                ],
                                "status": {"code": "STATUS_CODE_ERROR"},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    trace_files.write_line("notifications.jsonl", json.dumps(request))

    (span,) = load_trace(trace_files.dir, TRACE)

    assert span.service == "notifications"
    assert span.parent_span_id is None
    assert span.kind == 5
    assert span.is_error
    assert span.end_ns == span.start_ns == 1000  # no end: a point, never a negative duration
    assert span.attributes == {"tags": ["a", 2]}
    assert span.events[0].name == "exception"
    assert span.events[0].attributes == {"exception.type": "KeyError"}


def test_unreadable_lines_are_skipped_and_counted(trace_files: Any) -> None:
    trace_files.write("orders", trace_files.span("a", trace=TRACE, span_id="a1"))
    trace_files.write_line("orders.jsonl", "not json")
    trace_files.write_line("orders.jsonl", json.dumps({"resourceSpans": [{"scopeSpans": [
        {"spans": [{"traceId": TRACE, "name": "no span id"}]}]}]}))  # fmt: skip
    trace_files.write("orders", trace_files.span("b", trace=TRACE, span_id="b1", parent="a1"))
    # The exporter is writing its next line right now.
    trace_files.write_line("orders.jsonl", '{"resourceSpans": [{"resource": {', newline=False)

    found = read_spans(trace_files.dir)

    assert [s.name for s in found.spans] == ["a", "b"]
    assert found.skipped_lines == 3
    # Only the lines that could hold the trace are parsed (here: those naming its id).
    assert read_trace(trace_files.dir, TRACE).skipped_lines == 1


def test_a_span_exported_twice_counts_once(trace_files: Any) -> None:
    span = trace_files.span("a", trace=TRACE, span_id="a1")
    trace_files.write("orders", span)
    trace_files.write("orders", span, file="orders.jsonl.1")

    assert len(load_trace(trace_files.dir, TRACE)) == 1


def test_orphans_are_spans_whose_parent_is_not_in_the_trace(trace_files: Any) -> None:
    trace_files.write(
        "orders",
        trace_files.span("root", trace=TRACE, span_id="a1", kind=KIND_SERVER),
        trace_files.span("child", trace=TRACE, span_id="a2", parent="a1", start_ms=1),
        trace_files.span("lost", trace=TRACE, span_id="b1", parent="ff", start_ms=3),
        trace_files.span("lost early", trace=TRACE, span_id="b2", parent="ee", start_ms=2),
    )

    spans = load_trace(trace_files.dir, TRACE)

    assert [s.name for s in orphans(spans)] == ["lost early", "lost"]
    assert [s.name for s in roots(spans)] == ["root"]


def test_last_order_trace_is_the_newest_span_with_an_order_id(trace_files: Any) -> None:
    order = {"bazaar.order_id": "o-1"}
    trace_files.write(
        "orders", trace_files.span("old order", trace=OTHER, span_id="a1", attributes=order)
    )
    trace_files.write(
        "orders",
        trace_files.span("new order", trace=TRACE, span_id="b1", start_ms=50, attributes=order),
        file="orders.jsonl.1",
    )
    # Newer, but no order's span.
    trace_files.write(
        "users", trace_files.span("login", trace="ab" * 16, span_id="c1", start_ms=99)
    )

    assert last_order_trace_id(trace_files.dir) == TRACE


def test_a_missing_store_has_no_spans(tmp_path: Path) -> None:
    assert load_trace(tmp_path / "nowhere", TRACE) == []
    assert last_order_trace_id(tmp_path / "nowhere") is None


def test_trace_ids_are_accepted_in_upper_case_and_x_ray_form() -> None:
    assert normalize_trace_id(" 5B8EFFF798038103D269B633813FC60C ") == TRACE
    assert normalize_trace_id("1-5b8efff7-98038103d269b633813fc60c") == TRACE


def test_what_the_chassis_exporter_writes_reads_back(tmp_path: Path) -> None:
    traces = tmp_path / "traces"
    ids: dict[str, str] = {}
    for service in ("gateway", "orders"):
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(
            SimpleSpanProcessor(OtlpJsonFileExporter(traces / f"{service}.jsonl"))
        )
        tracer = provider.get_tracer("bazaar")
        order = {"bazaar.order_id": "o-1"}
        with (
            tracer.start_as_current_span("POST /orders", kind=SpanKind.SERVER) as root,
            tracer.start_as_current_span("save", attributes=order) as child,
        ):
            child.set_status(Status(StatusCode.ERROR, "boom"))
        provider.shutdown()
        ids[service] = format(root.get_span_context().trace_id, "032x")

    spans = load_trace(traces, ids["orders"])

    assert last_order_trace_id(traces) == ids["orders"]
    assert [(s.service, s.name, s.kind) for s in spans] == [
        ("orders", "POST /orders", KIND_SERVER),
        ("orders", "save", 1),
    ]
    assert spans[1].parent_span_id == spans[0].span_id
    assert spans[1].is_error
    assert spans[1].status_message == "boom"
    assert spans[1].attributes == {"bazaar.order_id": "o-1"}
    assert orphans(spans) == []
