"""Where spans go: the local OTLP/JSON file store and its settings; X-Ray ids and headers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from chassis import ServiceSettings, Tracing
from chassis.otlp_json import OtlpJsonFileExporter


def _file_tracing(folder: Path, **settings: object) -> Tracing:
    config = ServiceSettings(
        service_name="orders", traces_exporter="file", traces_dir=folder, **settings
    )
    return Tracing.from_settings(config, service="orders", version="1.2.3", environment="test")


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_spans_are_written_as_otlp_json_lines(tmp_path: Path) -> None:
    tracing = _file_tracing(tmp_path)
    with tracing.tracer.start_as_current_span("POST /orders", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("bazaar.order_id", "o-1")
        parent.set_attribute("http.response.status_code", 202)
        with tracing.tracer.start_as_current_span("publish x", kind=SpanKind.PRODUCER) as child:
            child.set_status(Status(StatusCode.ERROR, "broker away"))
    tracing.shutdown()  # flushes the batch

    (request,) = _lines(tmp_path / "orders.jsonl")
    (resource_spans,) = request["resourceSpans"]  # type: ignore[misc]
    resource = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "orders"}
    assert resource["service.version"] == {"stringValue": "1.2.3"}
    (scope,) = resource_spans["scopeSpans"]
    spans = {span["name"]: span for span in scope["spans"]}
    server, producer = spans["POST /orders"], spans["publish x"]
    assert len(server["traceId"]) == 32
    assert len(server["spanId"]) == 16
    assert "parentSpanId" not in server
    assert producer["parentSpanId"] == server["spanId"]
    assert producer["traceId"] == server["traceId"]
    assert (server["kind"], producer["kind"]) == (2, 4)
    assert producer["status"] == {"code": 2, "message": "broker away"}
    attributes = {a["key"]: a["value"] for a in server["attributes"]}
    assert attributes["http.response.status_code"] == {"intValue": "202"}
    assert attributes["bazaar.order_id"] == {"stringValue": "o-1"}
    assert int(server["endTimeUnixNano"]) >= int(server["startTimeUnixNano"]) > 0


def test_a_full_file_moves_aside(tmp_path: Path) -> None:
    exporter = OtlpJsonFileExporter(tmp_path / "s.jsonl", max_bytes=1024)
    traced = Tracing(service="s", processors=(SimpleSpanProcessor(exporter),))
    for n in range(40):
        with traced.tracer.start_as_current_span(f"span {n}"):
            pass
    traced.shutdown()
    assert (tmp_path / "s.jsonl").stat().st_size <= 1024
    kept = _lines(tmp_path / "s.jsonl.1") + _lines(tmp_path / "s.jsonl")
    assert all(line["resourceSpans"] for line in kept)


def test_off_records_nothing_but_still_makes_trace_ids(tmp_path: Path) -> None:
    tracing = Tracing.from_settings(
        ServiceSettings(service_name="s"), service="s", version="1", environment="test"
    )
    assert not tracing.recording
    with tracing.tracer.start_as_current_span("x") as span:
        assert not span.is_recording()
        assert span.get_span_context().is_valid


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"traces_exporter": "file"}, "TRACES_DIR"),
        ({"traces_exporter": "otlp"}, "TRACES_OTLP_ENDPOINT"),
        ({"traces_propagators": "tracecontext,zipkin"}, "TRACES_PROPAGATORS"),
        ({"traces_sample_ratio": 1.5}, "traces_sample_ratio"),
    ],
)
def test_incomplete_tracing_settings_fail_at_start(
    settings: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        ServiceSettings(service_name="s", **settings)  # type: ignore[arg-type]


def test_xray_ids_and_headers_are_switched_on_by_configuration() -> None:
    config = ServiceSettings(
        service_name="s",
        traces_id_generator="xray",
        traces_propagators="tracecontext,xray",
    )
    tracing = Tracing.from_settings(config, service="s", version="1", environment="production")
    before = int(time.time())
    with tracing.tracer.start_as_current_span("x") as span:
        headers: dict[str, str] = {}
        tracing.inject(headers)
    trace_hex = f"{span.get_span_context().trace_id:032x}"
    # X-Ray trace ids begin with the epoch second they were made in.
    assert before <= int(trace_hex[:8], 16) <= int(time.time())
    assert headers["traceparent"].split("-")[1] == trace_hex
    assert headers["X-Amzn-Trace-Id"].startswith(f"Root=1-{trace_hex[:8]}-{trace_hex[8:]}")
    # And a request arriving from an X-Ray-instrumented caller continues its trace.
    carried = tracing.extract({"x-amzn-trace-id": headers["X-Amzn-Trace-Id"]})
    with tracing.tracer.start_as_current_span("y", context=carried) as child:
        assert f"{child.get_span_context().trace_id:032x}" == trace_hex
