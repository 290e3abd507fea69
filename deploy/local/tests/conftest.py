"""Fixtures for the launcher's own tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def fake_bindir(tmp_path: Path) -> Path:
    """A directory that looks like PostgreSQL's bin dir (executables named initdb, postgres)."""
    bindir = tmp_path / "pg" / "bin"
    bindir.mkdir(parents=True)
    for name in ("initdb", "postgres"):
        program = bindir / name
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(0o755)
    return bindir


# -- the local trace store (OTLP/JSON lines), for `bazaar trace` ---------------------------------

TRACE_EPOCH_NS = 1_767_323_045_000_000_000  # 2026-01-02 03:04:05 UTC


class TraceFiles:
    """Writes `<traces>/<service>.jsonl` files as the services' exporters do: one
    `ExportTraceServiceRequest` per line, in the OTLP/JSON encoding."""

    def __init__(self, traces_dir: Path) -> None:
        self.dir = traces_dir

    @staticmethod
    def span(
        name: str,
        *,
        trace: str,
        span_id: str,
        parent: str | None = None,
        start_ms: float = 0.0,
        duration_ms: float = 1.0,
        kind: int = 1,
        error: str | None = None,
        attributes: dict[str, object] | None = None,
    ) -> dict[str, object]:
        start = TRACE_EPOCH_NS + int(start_ms * 1_000_000)
        raw: dict[str, object] = {
            "traceId": trace,
            "spanId": span_id,
            "name": name,
            "kind": kind,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + int(duration_ms * 1_000_000)),
            "attributes": [_key_value(k, v) for k, v in (attributes or {}).items()],
            "status": {"code": 2, "message": error} if error is not None else {},
        }
        if parent is not None:
            raw["parentSpanId"] = parent
        return raw

    def write(self, service: str, *spans: dict[str, object], file: str | None = None) -> Path:
        """Appends one export request holding `spans` to the service's file (or `file`)."""
        request = {
            "resourceSpans": [
                {
                    "resource": {"attributes": [_key_value("service.name", service)]},
                    "scopeSpans": [{"scope": {"name": "bazaar"}, "spans": list(spans)}],
                }
            ]
        }
        return self.write_line(file or f"{service}.jsonl", json.dumps(request))

    def write_line(self, file: str, text: str, *, newline: bool = True) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / file
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text + ("\n" if newline else ""))
        return path


def _key_value(key: str, value: object) -> dict[str, object]:
    if isinstance(value, bool):
        encoded: dict[str, object] = {"boolValue": value}
    elif isinstance(value, int):
        encoded = {"intValue": str(value)}
    elif isinstance(value, float):
        encoded = {"doubleValue": value}
    else:
        encoded = {"stringValue": str(value)}
    return {"key": key, "value": encoded}


@pytest.fixture
def trace_files(tmp_path: Path) -> TraceFiles:
    """An empty trace store in `<tmp>/data/traces` (the data dir is `<tmp>/data`)."""
    return TraceFiles(tmp_path / "data" / "traces")
