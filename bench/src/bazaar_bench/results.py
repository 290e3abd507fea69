"""The run's results: one JSON document (machine-readable) and a markdown table (readable),
written as `latest.*` plus a dated copy of the JSON."""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .figures import Figure


@dataclass
class RunReport:
    started: datetime
    mode: str
    runs: int
    seconds: float
    cpu_plan: str
    load_generators: str
    figures: list[Figure] = field(default_factory=list)
    total_seconds: float = 0.0
    profiles: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.started.date().isoformat(),
            "started": self.started.isoformat(timespec="seconds"),
            "mode": self.mode,
            "runs": self.runs,
            "seconds_per_phase": self.seconds,
            "total_seconds": round(self.total_seconds, 1),
            "machine": {
                "cpus": _cpu_count(),
                "python": platform.python_version(),
                "kernel": platform.release(),
                "cpu_plan": self.cpu_plan,
            },
            "load_generators": self.load_generators,
            "figures": {f.key: f.to_json() for f in self.figures},
            "profiles": self.profiles,
        }


def _cpu_count() -> int:
    return os.cpu_count() or 1


def _number(value: float, unit: str) -> str:
    if math.isnan(value):
        return "-"
    if unit in ("req/s", "orders/s", "MB") or abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.2f} {unit}" if abs(value) >= 1 else f"{value:.3f} {unit}"


def _met(met: bool | None) -> str:
    return "" if met is None else ("yes" if met else "**no**")


def markdown_table(figures: Sequence[Figure]) -> str:
    lines = [
        "| figure | measure | measured | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for figure in figures:
        if figure.skipped:
            lines.append(f"| {figure.key} | skipped: {figure.skipped} | | | | | |")
            continue
        for r in figure.ratios:
            value = "-" if math.isnan(r.value) else f"{r.value:.2f}"
            lines.append(
                f"| {figure.key} | {r.name} | {_number(r.measured, r.unit)} | "
                f"{_number(r.baseline, r.unit)} | {value} | {r.target} | {_met(r.met)} |"
            )
    return "\n".join(lines)


def markdown_report(report: RunReport) -> str:
    parts = [
        f"## Results {report.started.date().isoformat()} ({report.mode}, {report.runs} "
        f"round(s) of {report.seconds:g}s, {report.total_seconds:.0f}s in all)",
        "",
        f"{_cpu_count()} CPUs; {report.cpu_plan}; {report.load_generators}.",
        "",
        markdown_table(report.figures),
        "",
    ]
    for figure in report.figures:
        if figure.notes:
            parts.append(f"- **{figure.key}**: " + "; ".join(figure.notes))
    return "\n".join(parts) + "\n"


def write_results(report: RunReport, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    document = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    latest = out_dir / "latest.json"
    latest.write_text(document, encoding="utf-8")
    stamp = report.started.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    (out_dir / f"{stamp}.json").write_text(document, encoding="utf-8")
    table = out_dir / "latest.md"
    table.write_text(markdown_report(report), encoding="utf-8")
    return latest, table
