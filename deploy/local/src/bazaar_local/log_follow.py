"""Following the services' log files as they grow: for `bazaar logs -f` and `bazaar up`.

The files, not the pipes: the launcher hands each child its log file as stdout, so reading the
files sees exactly what is kept, including services restarted by the fault tools.
Memory stays bounded: each poll reads at most `max_read` bytes per file, and an over-long
unterminated line is cut.
"""

from __future__ import annotations

import heapq
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from bazaar_local.log_view import EntryParser, LogEntry, LogFilter

MAX_READ = 1024 * 1024
MAX_LINE = 256 * 1024


class FileTail:
    """New complete lines of one file, from a starting offset; survives the file appearing late
    or being truncated."""

    def __init__(self, path: Path, start: int, *, max_read: int = MAX_READ) -> None:
        self.path = path
        self.position = start
        self._max_read = max_read
        self._partial = b""
        self._handle: BinaryIO | None = None

    def read_lines(self) -> list[str]:
        handle = self._open()
        if handle is None:
            return []
        try:
            size = os.fstat(handle.fileno()).st_size
        except OSError:
            return []
        if size < self.position:  # truncated: start over
            self.position, self._partial = 0, b""
        handle.seek(self.position)
        chunk = handle.read(self._max_read)
        self.position += len(chunk)
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        if len(self._partial) > MAX_LINE:
            complete.append(self._partial)
            self._partial = b""
        return [line.decode("utf-8", errors="replace") for line in complete]

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _open(self) -> BinaryIO | None:
        if self._handle is None:
            try:
                self._handle = self.path.open("rb")
            except FileNotFoundError:
                return None
        return self._handle


def current_ends(files: Mapping[str, Path]) -> dict[str, int]:
    """Where following starts: just after each file's last complete line now (0 if it does not
    exist yet), so a line half-written at this moment is read whole later."""
    return {service: _end_of_last_line(path) for service, path in files.items()}


def _end_of_last_line(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            start = max(0, size - MAX_LINE)
            handle.seek(start)
            tail = handle.read(size - start)
    except FileNotFoundError:
        return 0
    newline = tail.rfind(b"\n")
    return start + newline + 1 if newline >= 0 else start


class Follower:
    """Polls several log files and returns their new entries, merged by time per poll.

    An entry is held back until the file's next entry starts or a poll finds nothing new in
    that file, so a traceback written just after its JSON line still joins it.
    """

    def __init__(self, files: Mapping[str, Path], start: Mapping[str, int] | None = None) -> None:
        offsets = current_ends(files) if start is None else start
        self._tails = {name: FileTail(path, offsets.get(name, 0)) for name, path in files.items()}
        self._parsers = {name: EntryParser(name) for name in files}

    @property
    def positions(self) -> dict[str, int]:
        return {name: tail.position for name, tail in self._tails.items()}

    def poll(self) -> list[LogEntry]:
        batches: list[list[LogEntry]] = []
        for name, tail in self._tails.items():
            parser = self._parsers[name]
            lines = tail.read_lines()
            batch = [entry for line in lines if (entry := parser.feed(line)) is not None]
            if not lines and (held := parser.flush()) is not None:
                batch.append(held)
            batches.append(batch)
        return list(heapq.merge(*batches, key=lambda entry: entry.when))

    def drain(self) -> list[LogEntry]:
        """Everything still unread or held back (at the end of following)."""
        entries = self.poll()
        for parser in self._parsers.values():
            held = parser.flush()
            if held is not None:
                entries.append(held)
        return entries

    def follow(self, stop: threading.Event, interval: float = 0.2) -> Iterator[LogEntry]:
        """New entries until `stop` is set (then what is left), polling every `interval` s."""
        try:
            while not stop.is_set():
                yield from self.poll()
                stop.wait(interval)
            yield from self.drain()
        finally:
            self.close()

    def close(self) -> None:
        for tail in self._tails.values():
            tail.close()


class LogPrinter:
    """A thread that follows log files and hands the entries a filter keeps to `emit`."""

    def __init__(
        self,
        follower: Follower,
        log_filter: LogFilter,
        emit: Callable[[LogEntry], None],
        *,
        interval: float = 0.2,
    ) -> None:
        self._follower = follower
        self._filter = log_filter
        self._emit = emit
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bazaar-logs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        elif self._thread.ident is None:  # never started: nothing else closes the files
            self._follower.close()

    def _run(self) -> None:
        for entry in self._follower.follow(self._stop, self._interval):
            if self._filter.matches(entry):
                self._emit(entry)
