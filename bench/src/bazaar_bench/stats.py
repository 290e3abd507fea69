"""Medians, percentiles and ratios: the arithmetic every figure shares."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def median(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(statistics.median(finite)) if finite else math.nan


def ratio(measured: float, baseline: float) -> float:
    """measured / baseline; NaN when the baseline is zero or missing."""
    if math.isnan(measured) or math.isnan(baseline) or baseline == 0:
        return math.nan
    return measured / baseline


def rounded(value: float, digits: int = 3) -> float | None:
    """For JSON: NaN becomes null."""
    return None if math.isnan(value) or math.isinf(value) else round(value, digits)
