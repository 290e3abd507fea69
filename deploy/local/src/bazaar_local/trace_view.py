"""A trace as a text waterfall: one line per span in tree order, its bar on a shared timeline.

Trace 5b8efff798038103d269b633813fc60c  2026-01-02 03:04:05.000 UTC  ·  1000.0 ms  ·  ...
  start ms     dur ms  span                             │0 ms                 1000.0 ms│
      0.00    1000.0  gateway POST /orders [server]     │██████████████████████████████│
      2.10     950.3    orders POST /orders [server]    │ ████████████████████████████ │
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bazaar_local.log_view import Style
from bazaar_local.services import SERVICES
from bazaar_local.trace_store import (
    KIND_CLIENT,
    KIND_CONSUMER,
    KIND_PRODUCER,
    KIND_SERVER,
    Span,
    children_by_parent,
)

DEFAULT_WIDTH = 120
KIND_MARKERS = {
    KIND_SERVER: "[server]",
    KIND_CLIENT: "[client]",
    KIND_PRODUCER: "[producer]",
    KIND_CONSUMER: "[consumer]",
}
ERROR_MARK = "✗"
ORPHAN_MARK = "⚠"
_NUMBER_WIDTH = 10
_MIN_BAR, _MIN_LABEL = 10, 20
_ERROR_COLOUR = "31;1"
_ORPHAN_COLOUR = "33"


@dataclass(frozen=True)
class Row:
    """A span's place in the waterfall."""

    span: Span
    depth: int
    orphan: bool


def tree_rows(spans: Sequence[Span]) -> list[Row]:
    """Depth-first from each top-level span (roots, and orphans whose parent is missing), all
    siblings by start time. Spans caught in a parent cycle (a corrupt trace) come last, as
    orphans, so no span is ever left out."""
    ids = {span.span_id for span in spans}
    children = children_by_parent(spans)
    top = [s for s in spans if s.parent_span_id is None or s.parent_span_id not in ids]
    rows: list[Row] = []
    visited: set[str] = set()

    def walk(start: Span, orphan: bool) -> None:
        # Iterative, so a deep (or malicious) trace cannot hit the recursion limit.
        stack = [(start, 0, orphan)]
        while stack:
            span, depth, is_orphan = stack.pop()
            if span.span_id in visited:
                continue
            visited.add(span.span_id)
            rows.append(Row(span, depth, is_orphan))
            below = children.get(span.span_id, [])
            stack.extend((child, depth + 1, False) for child in reversed(below))

    for span in sorted(top, key=_start_order):
        walk(span, span.parent_span_id is not None)
    for span in sorted(spans, key=_start_order):
        walk(span, True)
    return rows


def render_waterfall(
    spans: Sequence[Span], *, width: int = DEFAULT_WIDTH, color: bool = False
) -> str:
    """The header (trace id, start, total duration, span count, services) and one line per span.

    `width` is the width up to the end of the timeline; an error's message or an orphan's note
    follows it. `color` paints services (as `bazaar logs` does), errors and orphans with ANSI
    codes: for terminals only.
    """
    if not spans:
        return "No spans."
    style = Style.for_services([spec.name for spec in SERVICES], color=color)
    rows = tree_rows(spans)
    t0 = min(span.start_ns for span in spans)
    total = max(span.end_ns for span in spans) - t0
    labels = [_label(row) for row in rows]
    fixed = 2 * _NUMBER_WIDTH + 1 + 2 + 2 + 2  # the numbers, the gaps and the bar's borders
    label_width = min(
        max(len(label.plain) for label in labels), max(_MIN_LABEL, (width - fixed) // 2)
    )
    bar_width = max(_MIN_BAR, width - fixed - label_width)
    lines = [*_header(spans, t0, total, rows, style)]
    lines.append(
        f"{'start ms':>{_NUMBER_WIDTH}} {'dur ms':>{_NUMBER_WIDTH}}  "
        f"{'span'.ljust(label_width)}  │{_ruler(total, bar_width)}│"
    )
    for row, label in zip(rows, labels, strict=True):
        span = row.span
        fitted = _fit(label, label_width, row, style)
        bar = _bar(span.start_ns - t0, span.end_ns - t0, total, bar_width)
        line = (
            f"{_ms(span.start_ns - t0):>{_NUMBER_WIDTH}} {_ms(span.duration_ns):>{_NUMBER_WIDTH}}"
            f"  {fitted}  │{style.paint(bar, style.service_colour(span.service))}│"
        )
        notes = _notes(row)
        if notes:
            colour = _ERROR_COLOUR if span.is_error else _ORPHAN_COLOUR
            line += " " + style.paint(notes, colour)
        lines.append(line)
    return "\n".join(lines)


def error_message(span: Span) -> str:
    """The status message, else what its `exception` event says."""
    if span.status_message:
        return span.status_message
    for event in span.events:
        if event.name == "exception":
            kind = event.attributes.get("exception.type", "")
            text = event.attributes.get("exception.message", "")
            return ": ".join(str(part) for part in (kind, text) if part)
    return ""


def _header(
    spans: Sequence[Span], t0: int, total: int, rows: Sequence[Row], style: Style
) -> list[str]:
    services = sorted({span.service for span in spans})
    started = datetime.fromtimestamp(t0 / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    trace_ids = sorted({span.trace_id for span in spans})
    lines = [
        f"Trace {', '.join(trace_ids)}  {started} UTC  ·  {_ms(total)} ms  ·  "
        f"{len(spans)} span{'s' if len(spans) != 1 else ''}  ·  services: "
        + ", ".join(style.paint(name, style.service_colour(name)) for name in services)
    ]
    errors = sum(1 for span in spans if span.is_error)
    orphaned = sum(1 for row in rows if row.orphan)
    problems = []
    if errors:
        problems.append(
            style.paint(f"{ERROR_MARK} {errors} error{'s' if errors != 1 else ''}", _ERROR_COLOUR)
        )
    if orphaned:
        problems.append(
            style.paint(
                f"{ORPHAN_MARK} {orphaned} orphaned (parent not in the store)", _ORPHAN_COLOUR
            )
        )
    if problems:
        lines.append("  ".join(problems))
    return lines


@dataclass(frozen=True)
class _Label:
    """A span's label in parts, so widths are measured on plain text and colours added last."""

    indent: str
    marks: str
    service: str
    rest: str

    @property
    def plain(self) -> str:
        return self.indent + self.marks + self.service + self.rest


def _label(row: Row) -> _Label:
    span = row.span
    marks = (ERROR_MARK + " " if span.is_error else "") + (ORPHAN_MARK + " " if row.orphan else "")
    kind = KIND_MARKERS.get(span.kind)
    rest = f" {span.name}" + (f" {kind}" if kind else "")
    return _Label("  " * row.depth, marks, span.service, rest)


def _fit(label: _Label, width: int, row: Row, style: Style) -> str:
    """The label cut (in its operation name) or padded to `width`, then painted."""
    rest = label.rest
    if len(label.plain) > width:
        room = width - len(label.plain) + len(rest)
        rest = rest[: room - 1] + "…" if room > 1 else ""
    padding = " " * max(0, width - len(label.plain) + len(label.rest) - len(rest))
    colour = _ERROR_COLOUR if row.span.is_error else _ORPHAN_COLOUR
    marks = style.paint(label.marks, colour) if label.marks else ""
    service = style.paint(label.service, style.service_colour(label.service))
    return label.indent + marks + service + rest + padding


def _notes(row: Row) -> str:
    notes = []
    if row.span.is_error:
        notes.append(f"{ERROR_MARK} {error_message(row.span) or 'error'}")
    if row.orphan:
        parent = row.span.parent_span_id
        notes.append(f"{ORPHAN_MARK} orphan: parent {parent} is not in the trace")
    return "  ".join(notes)


def _bar(start: int, end: int, total: int, width: int) -> str:
    if total <= 0:
        return "█" + " " * (width - 1)
    first = min(width - 1, int(start / total * width))
    last = max(first + 1, min(width, math.ceil(end / total * width)))
    return " " * first + "█" * (last - first) + " " * (width - last)


def _ruler(total: int, width: int) -> str:
    left, right = "0 ms", f"{_ms(total)} ms"
    if len(left) + len(right) + 1 > width:
        return " " * width
    return left + " " * (width - len(left) - len(right)) + right


def _ms(ns: int) -> str:
    ms = ns / 1e6
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def _start_order(span: Span) -> tuple[int, int, str]:
    return (span.start_ns, span.end_ns, span.span_id)
