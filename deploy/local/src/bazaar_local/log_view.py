"""Reading, merging, filtering and formatting the services' JSON log files.

Each service's file is already in time order, so showing them together is a k-way merge.
Lines that are not JSON (a traceback written straight to stderr, say) belong to the JSON line
before them in the same file; the launcher's own header lines between runs are skipped.
"""

from __future__ import annotations

import heapq
import json
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bazaar_local.child_processes import HEADER_MARK

LEVELS = ("debug", "info", "warning", "error", "critical")
_LEVEL_ALIASES = {"warn": "warning", "exception": "error", "fatal": "critical"}
# Shown elsewhere on the line (or the same for every line of a service), so not as key=value.
_HIDDEN_FIELDS = frozenset({"service", "version", "timestamp", "level", "event", "exception"})
# No yellow or red: those mean warning and error.
_SERVICE_PALETTE = ("36", "35", "32", "34", "96", "95", "92", "94")
_LEVEL_COLOURS = {"warning": "33", "error": "31;1", "critical": "31;1;7", "debug": "2"}
_EPOCH = datetime.min.replace(tzinfo=UTC)
_RESET = "\x1b[0m"


@dataclass(frozen=True)
class LogEntry:
    """One event: a JSON line (or an orphan text line) and the text lines that follow it."""

    service: str
    raw: str
    fields: Mapping[str, Any]
    when: datetime
    continuation: tuple[str, ...] = ()

    @property
    def level(self) -> str | None:
        value = self.fields.get("level")
        return normalise_level(value) if isinstance(value, str) else None

    @property
    def event(self) -> str:
        if not self.fields:
            return self.raw
        return str(self.fields.get("event", ""))


def normalise_level(name: str) -> str | None:
    """The canonical level for `name` (case-insensitive), or None if it is not one."""
    lowered = name.strip().lower()
    lowered = _LEVEL_ALIASES.get(lowered, lowered)
    return lowered if lowered in LEVELS else None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class EntryParser:
    """Turns one file's lines into entries; an entry is complete once the next one starts."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._pending: LogEntry | None = None
        self._last_time = _EPOCH

    def feed(self, line: str) -> LogEntry | None:
        """Takes one line (without its newline); returns the entry it completed, if any."""
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith(HEADER_MARK):
            return None
        fields = _json_object(line)
        if fields is None:
            if self._pending is not None:
                continuation = (*self._pending.continuation, line)
                self._pending = replace(self._pending, continuation=continuation)
                return None
            # Nothing to attach to (output before the first JSON line): an entry of its own.
            entry = LogEntry(self.service, line, {}, self._last_time)
        else:
            when = _parse_time(fields.get("timestamp")) or self._last_time
            self._last_time = when
            entry = LogEntry(self.service, line, fields, when)
        done, self._pending = self._pending, entry
        return done

    def flush(self) -> LogEntry | None:
        """The entry still waiting for continuation lines (at the end of the input)."""
        done, self._pending = self._pending, None
        return done


def _json_object(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_lines(service: str, lines: Iterable[str]) -> Iterator[LogEntry]:
    parser = EntryParser(service)
    for line in lines:
        entry = parser.feed(line)
        if entry is not None:
            yield entry
    last = parser.flush()
    if last is not None:
        yield last


def read_lines(path: Path, *, end: int | None = None) -> Iterator[str]:
    """The complete lines of `path` (up to byte `end`), lazily; nothing if it does not exist."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        position = 0
        for raw in handle:
            position += len(raw)
            if (end is not None and position > end) or not raw.endswith(b"\n"):
                return  # still being written: a follower picks it up
            yield raw.decode("utf-8", errors="replace")


def read_entries(path: Path, service: str, *, end: int | None = None) -> Iterator[LogEntry]:
    return parse_lines(service, read_lines(path, end=end))


def log_files(logs_dir: Path, services: Sequence[str]) -> dict[str, Path]:
    """Each service's log file, in the services' order."""
    return {name: logs_dir / f"{name}.log" for name in services}


def merge(streams: Iterable[Iterable[LogEntry]]) -> Iterator[LogEntry]:
    """One time-ordered stream from per-file streams that are each in time order (stable: on
    equal times, earlier streams first)."""
    return heapq.merge(*streams, key=lambda entry: entry.when)


@dataclass(frozen=True)
class LogFilter:
    services: frozenset[str] | None = None
    trace_id: str | None = None
    request_id: str | None = None
    min_level: str | None = None

    def matches(self, entry: LogEntry) -> bool:
        if self.services is not None and entry.service not in self.services:
            return False
        if self.trace_id is not None and _lower(entry.fields.get("trace_id")) != self.trace_id:
            return False
        if self.request_id is not None and entry.fields.get("request_id") != self.request_id:
            return False
        if self.min_level is not None:
            level = entry.level
            # A line without a level (raw text, say) may be a crash: never hidden by level.
            if level is not None and LEVELS.index(level) < LEVELS.index(self.min_level):
                return False
        return True

    @classmethod
    def build(
        cls,
        *,
        services: Sequence[str] = (),
        trace_id: str | None = None,
        request_id: str | None = None,
        level: str | None = None,
    ) -> LogFilter:
        """Raises ValueError for a level that is not one of `LEVELS`."""
        min_level = None
        if level is not None:
            min_level = normalise_level(level)
            if min_level is None:
                raise ValueError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
        return cls(
            services=frozenset(services) if services else None,
            trace_id=trace_id.strip().lower() if trace_id else None,
            request_id=request_id,
            min_level=min_level,
        )


def _lower(value: object) -> str | None:
    return value.lower() if isinstance(value, str) else None


def select(
    entries: Iterable[LogEntry], log_filter: LogFilter, *, last: int | None = None
) -> Iterator[LogEntry]:
    """The entries `log_filter` keeps; with `last`, only the newest `last` of them."""
    kept = (entry for entry in entries if log_filter.matches(entry))
    if last is None:
        return kept
    return iter(deque(kept, maxlen=max(0, last)))


@dataclass(frozen=True)
class Style:
    """How entries are printed: colours (by the services' order) and the name column's width."""

    services: Sequence[str] = ()
    color: bool = False
    width: int = field(default=0)

    @classmethod
    def for_services(cls, services: Sequence[str], *, color: bool) -> Style:
        return cls(tuple(services), color, max((len(name) for name in services), default=0))

    def paint(self, text: str, code: str | None) -> str:
        return f"\x1b[{code}m{text}{_RESET}" if self.color and code else text

    def service_colour(self, service: str) -> str | None:
        if service not in self.services:
            return None
        return _SERVICE_PALETTE[list(self.services).index(service) % len(_SERVICE_PALETTE)]


def format_entry(entry: LogEntry, style: Style) -> str:
    """`HH:MM:SS.mmm service level event key=value ...`, then any continuation lines."""
    clock = entry.when.strftime("%H:%M:%S.") + f"{entry.when.microsecond // 1000:03d}"
    if entry.when == _EPOCH:
        clock = "--:--:--.---"
    name = style.paint(entry.service.ljust(style.width), style.service_colour(entry.service))
    level = entry.level or ""
    parts = [clock, name, style.paint(level.ljust(7), _LEVEL_COLOURS.get(level)), entry.event]
    parts.extend(
        f"{key}={_render_value(value)}"
        for key, value in entry.fields.items()
        if key not in _HIDDEN_FIELDS
    )
    lines = [" ".join(part for part in parts if part)]
    exception = entry.fields.get("exception")
    if isinstance(exception, str) and exception:
        lines.extend(exception.splitlines())
    lines.extend(entry.continuation)
    return "\n".join(lines)


def format_raw(entry: LogEntry) -> str:
    """The entry as it is in the file (for `--json`)."""
    return "\n".join((entry.raw, *entry.continuation))


def _render_value(value: object) -> str:
    if isinstance(value, str):
        plain = value and not any(c.isspace() or c in '"=' for c in value)
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
