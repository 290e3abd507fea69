"""What every benchmark returns: one figure, its baseline, the ratio and the target."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .stats import rounded


@dataclass(frozen=True)
class Ratio:
    """measured / baseline (both in `unit`), and the target it is held to, if any."""

    name: str
    measured: float
    baseline: float
    value: float
    unit: str
    target: str = ""
    # None: no target, or not computable.
    met: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measured": rounded(self.measured),
            "baseline": rounded(self.baseline),
            "ratio": rounded(self.value),
            "unit": self.unit,
            "target": self.target,
            "met": self.met,
        }


def at_least(value: float, bound: float) -> bool | None:
    return None if math.isnan(value) else value >= bound


def at_most(value: float, bound: float) -> bool | None:
    return None if math.isnan(value) else value <= bound


@dataclass
class Figure:
    key: str
    title: str
    ratios: list[Ratio] = field(default_factory=list)
    # Medians of the runs, by name (rps, p50_ms, …), and every run as measured.
    values: dict[str, float] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "skipped": self.skipped,
            "ratios": [r.to_json() for r in self.ratios],
            "values": {k: rounded(v) for k, v in self.values.items()},
            "runs": self.runs,
            "notes": self.notes,
            "seconds": round(self.seconds, 1),
        }
