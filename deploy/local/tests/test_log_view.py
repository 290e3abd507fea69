"""Reading, merging, filtering, formatting and following the services' log files."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bazaar_local.cli import app
from bazaar_local.log_follow import Follower, LogPrinter
from bazaar_local.log_view import (
    LogEntry,
    LogFilter,
    Style,
    format_entry,
    log_files,
    merge,
    parse_lines,
    read_entries,
    select,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c"


def line(service: str, second: int, event: str, level: str = "info", **fields: Any) -> str:
    record = {
        "event": event,
        "level": level,
        "timestamp": f"2026-01-02T03:04:{second:02d}.250000Z",
        "service": service,
        "version": "0.1.0",
        **fields,
    }
    return json.dumps(record)


def write(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(f"{text}\n" for text in lines)
    return path


def entries_of(service: str, *lines: str) -> list[LogEntry]:
    return list(parse_lines(service, lines))


def test_merge_orders_interleaved_files_by_time(tmp_path: Path) -> None:
    orders = write(
        tmp_path / "orders.log",
        line("orders", 1, "o1"),
        line("orders", 4, "o4"),
        line("orders", 5, "o5"),
    )
    users = write(tmp_path / "users.log", line("users", 2, "u2"), line("users", 3, "u3"))
    gateway = write(tmp_path / "gateway.log", line("gateway", 0, "g0"), line("gateway", 6, "g6"))

    merged = merge(read_entries(p, p.stem) for p in (orders, users, gateway))

    assert [e.event for e in merged] == ["g0", "o1", "u2", "u3", "o4", "o5", "g6"]


def test_non_json_lines_attach_to_the_previous_line_of_their_file() -> None:
    entries = entries_of(
        "orders",
        "",
        "===== bazaar: starting python -m bazaar_orders at 2026-01-02T03:04:00+00:00 =====",
        "early crash text",
        line("orders", 1, "boom", "error"),
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
        line("orders", 2, "after"),
    )

    assert [e.event for e in entries] == ["early crash text", "boom", "after"]
    assert entries[0].fields == {}
    assert entries[1].continuation == (
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
    )
    assert entries[2].continuation == ()


def test_a_line_without_its_newline_is_not_read_yet(tmp_path: Path) -> None:
    path = write(tmp_path / "users.log", line("users", 1, "done"))
    with path.open("a") as handle:
        handle.write(line("users", 2, "half"))

    assert [e.event for e in read_entries(path, "users")] == ["done"]


@pytest.fixture
def mixed() -> list[LogEntry]:
    return [
        *entries_of(
            "orders",
            line("orders", 1, "placed", trace_id=TRACE, request_id="r-1"),
            line("orders", 2, "slow", "warning", trace_id=OTHER_TRACE, request_id="r-2"),
        ),
        *entries_of(
            "users",
            line("users", 3, "login", "debug", trace_id=TRACE, request_id="r-3"),
            line("users", 4, "failed", "error", trace_id=TRACE, request_id="r-3"),
        ),
        *entries_of("payments", "not json at all"),
    ]


def kept(entries: list[LogEntry], log_filter: LogFilter) -> list[str]:
    return [e.event for e in select(entries, log_filter)]


def test_filter_by_service(mixed: list[LogEntry]) -> None:
    assert kept(mixed, LogFilter.build(services=["users"])) == ["login", "failed"]


def test_filter_by_trace_is_case_insensitive(mixed: list[LogEntry]) -> None:
    assert kept(mixed, LogFilter.build(trace_id=TRACE.upper())) == ["placed", "login", "failed"]


def test_filter_by_request(mixed: list[LogEntry]) -> None:
    assert kept(mixed, LogFilter.build(request_id="r-3")) == ["login", "failed"]


def test_filter_by_minimum_level_keeps_lines_without_a_level(mixed: list[LogEntry]) -> None:
    assert kept(mixed, LogFilter.build(level="WARN")) == ["slow", "failed", "not json at all"]


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        LogFilter.build(level="loud")


def test_select_last_keeps_the_newest_matches(mixed: list[LogEntry]) -> None:
    assert [e.event for e in select(mixed, LogFilter(), last=2)] == ["failed", "not json at all"]


def test_format_without_colour_has_no_escape_codes() -> None:
    (entry,) = entries_of(
        "orders",
        line("orders", 7, "order placed", "warning", trace_id=TRACE, total="19.99", note="a b"),
        "  continued",
    )

    text = format_entry(entry, Style.for_services(["orders", "notifications"], color=False))

    assert "\x1b" not in text
    first, second = text.split("\n")
    assert first == (
        f'03:04:07.250 orders        warning order placed trace_id={TRACE} total=19.99 note="a b"'
    )
    assert second == "  continued"


def test_format_with_colour_colours_service_and_error_level() -> None:
    (entry,) = entries_of("users", line("users", 1, "failed", "error", exception="Trace\nline 2"))
    style = Style.for_services(["orders", "users"], color=True)

    text = format_entry(entry, style)

    assert "\x1b[35musers \x1b[0m" in text  # the second service's palette colour
    assert "\x1b[31;1merror  \x1b[0m" in text
    assert text.splitlines()[1:] == ["Trace", "line 2"]
    assert "exception=" not in text


def test_services_get_distinct_colours_in_order() -> None:
    style = Style.for_services(["a", "b", "c"], color=True)
    assert len({style.service_colour(name) for name in ("a", "b", "c")}) == 3


def test_follower_reads_lines_appended_after_it_started(tmp_path: Path) -> None:
    files = log_files(tmp_path, ["orders", "users"])
    write(files["orders"], line("orders", 1, "before"))
    follower = Follower(files)  # users.log does not exist yet
    seen: list[LogEntry] = []
    arrived = threading.Condition()

    def emit(entry: LogEntry) -> None:
        with arrived:
            seen.append(entry)
            arrived.notify_all()

    printer = LogPrinter(follower, LogFilter.build(level="info"), emit, interval=0.01)
    printer.start()
    try:
        write(files["orders"], line("orders", 2, "after"), "Traceback: attached")
        write(files["users"], line("users", 3, "new file"), line("users", 4, "hidden", "debug"))
        with arrived:
            assert arrived.wait_for(lambda: len(seen) >= 2, timeout=10)
    finally:
        printer.stop()

    # Order is by time within a poll only; these two may arrive in different polls.
    assert sorted((e.event, e.continuation) for e in seen) == [
        ("after", ("Traceback: attached",)),
        ("new file", ()),
    ]


def test_follower_drains_what_is_held_back_on_stop(tmp_path: Path) -> None:
    files = log_files(tmp_path, ["orders"])
    follower = Follower(files, start={"orders": 0})
    write(files["orders"], line("orders", 1, "last words"), "traceback line")
    stop = threading.Event()
    stop.set()

    entries = list(follower.follow(stop))

    assert [(e.event, e.continuation) for e in entries] == [("last words", ("traceback line",))]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    logs = tmp_path / "data" / "logs"
    write(
        logs / "orders.log",
        line("orders", 1, "order_placed", trace_id=TRACE, request_id="r-1"),
        line("orders", 3, "payment_failed", "error", trace_id=OTHER_TRACE),
        "Traceback (most recent call last):",
    )
    write(
        logs / "gateway.log",
        line("gateway", 0, "request", trace_id=TRACE, request_id="r-1", status=201),
        line("gateway", 2, "request", trace_id=OTHER_TRACE, status=502),
    )
    return tmp_path / "data"


def run_cli(*args: str) -> list[str]:
    result = CliRunner().invoke(app, ["logs", *args])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_cli_merges_files_by_time(data_dir: Path) -> None:
    output = run_cli("--data-dir", str(data_dir))

    assert [text.split()[:2] for text in output[:4]] == [
        ["03:04:00.250", "gateway"],
        ["03:04:01.250", "orders"],
        ["03:04:02.250", "gateway"],
        ["03:04:03.250", "orders"],
    ]
    assert output[4] == "Traceback (most recent call last):"
    assert not any("\x1b" in text for text in output)


def test_cli_filters_by_trace_and_service(data_dir: Path) -> None:
    output = run_cli("orders", "--trace", TRACE, "--data-dir", str(data_dir))

    assert len(output) == 1
    assert "order_placed" in output[0]
    assert f"trace_id={TRACE}" in output[0]


def test_cli_json_prints_raw_lines_of_the_level(data_dir: Path) -> None:
    output = run_cli("--level", "error", "--json", "--data-dir", str(data_dir))

    assert json.loads(output[0])["event"] == "payment_failed"
    assert output[1:] == ["Traceback (most recent call last):"]


def test_cli_lines_keeps_the_newest(data_dir: Path) -> None:
    output = run_cli("--lines", "1", "gateway", "--data-dir", str(data_dir))

    assert len(output) == 1
    assert "status=502" in output[0]


def test_cli_refuses_unknown_service_and_level(data_dir: Path) -> None:
    unknown = CliRunner().invoke(app, ["logs", "nope", "--data-dir", str(data_dir)])
    bad_level = CliRunner().invoke(app, ["logs", "--level", "loud", "--data-dir", str(data_dir)])

    assert unknown.exit_code == 2
    assert "Unknown service" in unknown.output
    assert bad_level.exit_code == 2
