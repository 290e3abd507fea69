"""`bazaar trace`: the waterfall of one trace, and the command's wiring."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bazaar_local.cli import app
from bazaar_local.trace_store import KIND_CLIENT, KIND_CONSUMER, KIND_SERVER, load_trace
from bazaar_local.trace_view import render_waterfall, tree_rows

TRACE = "5b8efff798038103d269b633813fc60c"
OTHER = "0af7651916cd43dd8448eb211c80319c"
ANSI = "\x1b["


def saga(trace_files: Any, trace: str = TRACE, *, start_ms: float = 0.0) -> None:
    """An order through the gateway into orders, whose saga calls payments, which fails; and a
    notifications span whose parent (the broker's publish) was never exported."""
    t = start_ms
    span = trace_files.span
    trace_files.write(
        "gateway",
        span("POST /orders", trace=trace, span_id="a1", kind=KIND_SERVER, start_ms=t,
             duration_ms=100),
        span("POST orders", trace=trace, span_id="a2", parent="a1", kind=KIND_CLIENT,
             start_ms=t + 1, duration_ms=98),
    )  # fmt: skip
    # Children of b1 written newest first: the view sorts siblings by start.
    trace_files.write(
        "orders",
        span("authorize", trace=trace, span_id="b3", parent="b1", kind=KIND_CLIENT,
             start_ms=t + 40, duration_ms=50, error="payments answered 503"),
        span("INSERT orders", trace=trace, span_id="b2", parent="b1", start_ms=t + 5,
             duration_ms=10),
        span("POST /orders", trace=trace, span_id="b1", parent="a2", kind=KIND_SERVER,
             start_ms=t + 2, duration_ms=95, attributes={"bazaar.order_id": "o-1"}),
    )  # fmt: skip
    trace_files.write(
        "notifications",
        span("order.placed process", trace=trace, span_id="c1", parent="9999", start_ms=t + 60,
             kind=KIND_CONSUMER, duration_ms=5),
    )  # fmt: skip


def test_rows_follow_the_tree_with_siblings_by_start(trace_files: Any) -> None:
    saga(trace_files)

    rows = tree_rows(load_trace(trace_files.dir, TRACE))

    assert [(r.span.span_id, r.depth, r.orphan) for r in rows] == [
        ("a1", 0, False),
        ("a2", 1, False),
        ("b1", 2, False),
        ("b2", 3, False),
        ("b3", 3, False),
        ("c1", 0, True),  # an orphan: listed at the top level, after the root by start
    ]


def test_spans_in_a_parent_cycle_are_still_shown(trace_files: Any) -> None:
    trace_files.write(
        "orders",
        trace_files.span("x", trace=TRACE, span_id="a1", parent="a2"),
        trace_files.span("y", trace=TRACE, span_id="a2", parent="a1", start_ms=1),
    )

    rows = tree_rows(load_trace(trace_files.dir, TRACE))

    assert [(r.span.span_id, r.depth, r.orphan) for r in rows] == [
        ("a1", 0, True),
        ("a2", 1, False),
    ]


def test_the_waterfall_shows_each_span_on_one_timeline(trace_files: Any) -> None:
    saga(trace_files)

    text = render_waterfall(load_trace(trace_files.dir, TRACE), width=100)
    header, problems, columns, *lines = text.splitlines()

    assert TRACE in header
    assert "100.0 ms" in header
    assert "6 spans" in header
    assert "services: gateway, notifications, orders" in header
    assert "1 error" in problems
    assert "1 orphaned" in problems
    assert "│0 ms" in columns
    assert len(lines) == 6
    root, client, server, insert, authorize, orphan = lines
    assert "gateway POST /orders [server]" in root
    assert "  gateway POST orders [client]" in client
    assert "    orders POST /orders [server]" in server
    assert "      orders INSERT orders" in insert
    assert authorize.split()[:2] == ["40.0", "50.0"]  # start offset and duration, in ms
    assert "✗ payments answered 503" in authorize
    assert "⚠ orphan: parent 9999 is not in the trace" in orphan
    assert "✗" not in root
    # The root spans the whole timeline; a later, shorter span starts further right.
    root_bar = root.split("│")[1]
    authorize_bar = authorize.split("│")[1]
    width = len(root_bar)
    assert root_bar == "█" * width
    # 40 ms to 90 ms of 100 ms: from 40% of the timeline to 90% (rounded outwards).
    assert authorize_bar.index("█") == int(0.4 * width)
    assert authorize_bar.rindex("█") + 1 == math.ceil(0.9 * width)
    assert ANSI not in text


def test_colour_only_when_asked(trace_files: Any) -> None:
    saga(trace_files)
    spans = load_trace(trace_files.dir, TRACE)

    coloured = render_waterfall(spans, width=100, color=True)

    assert ANSI in coloured
    assert ANSI not in render_waterfall(spans, width=100, color=False)


def test_a_long_operation_name_is_cut_to_the_width(trace_files: Any) -> None:
    trace_files.write(
        "orders", trace_files.span("GET " + "/very-long" * 30, trace=TRACE, span_id="a1")
    )

    text = render_waterfall(load_trace(trace_files.dir, TRACE), width=80)

    line = text.splitlines()[-1]
    assert "…" in line
    assert len(line) == 80


def test_trace_command_prints_the_waterfall(trace_files: Any, tmp_path: Path) -> None:
    saga(trace_files)
    saga(trace_files, OTHER, start_ms=1000)
    data = ["--data-dir", str(tmp_path / "data")]

    result = CliRunner().invoke(app, ["trace", TRACE.upper(), "--width", "100", *data])

    assert result.exit_code == 0, result.output
    assert f"Trace {TRACE}" in result.output
    assert OTHER not in result.output
    assert "orders POST /orders [server]" in result.output


def test_trace_last_shows_the_newest_order(trace_files: Any, tmp_path: Path) -> None:
    saga(trace_files)
    saga(trace_files, OTHER, start_ms=1000)
    trace_files.write_line("orders.jsonl", '{"resourceSpans": [', newline=False)

    result = CliRunner().invoke(app, ["trace", "--last", "--data-dir", str(tmp_path / "data")])

    assert result.exit_code == 0, result.output
    assert f"Trace {OTHER}" in result.output


def test_trace_without_a_store_or_a_trace_is_a_clear_error(
    trace_files: Any, tmp_path: Path
) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    runner = CliRunner()

    missing_store = runner.invoke(app, ["trace", TRACE, *data])
    assert missing_store.exit_code == 1
    assert "No trace store" in missing_store.output

    trace_files.write("users", trace_files.span("login", trace=OTHER, span_id="a1"))
    missing_trace = runner.invoke(app, ["trace", TRACE, *data])
    assert missing_trace.exit_code == 1
    assert f"No span of trace {TRACE}" in missing_trace.output

    no_order = runner.invoke(app, ["trace", "--last", *data])
    assert no_order.exit_code == 1
    assert "No order's trace" in no_order.output


def test_trace_needs_an_id_or_last(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    runner = CliRunner()

    assert runner.invoke(app, ["trace", *data]).exit_code == 2
    assert runner.invoke(app, ["trace", TRACE, "--last", *data]).exit_code == 2
