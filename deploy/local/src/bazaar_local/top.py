"""`bazaar top`: rate, errors and duration (RED) of every service, from its `/metrics`.

Each refresh scrapes every service and compares the counters with the previous scrape: the rates
are over the last interval, the percentiles come from the deltas of the request-duration
histogram's buckets (all routes together), interpolated as Prometheus' `histogram_quantile`
does. Names and labels are those of `chassis.metrics.ServiceMetrics`.
"""

from __future__ import annotations

import http.client
import math
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

REQUESTS = "bazaar_http_requests_total"
DURATION_BUCKET = "bazaar_http_request_duration_seconds_bucket"
SHED = "bazaar_requests_shed_total"
RATE_LIMITED = "bazaar_rate_limited_total"
OUTBOX_PENDING = "bazaar_outbox_pending"
CONSUMER_PENDING = "bazaar_consumer_pending"
BREAKER_STATE = "bazaar_circuit_breaker_state"
# `chassis.metrics.BREAKER_STATE_VALUES`, repeated so `top` reads what it scrapes without
# importing the service chassis.
BREAKER_STATES = {1.0: "half-open", 2.0: "open"}
METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class Sample:
    """What one scrape says, summed over labels; `at` is a monotonic clock in seconds."""

    at: float
    requests: float = 0.0
    server_errors: float = 0.0
    # (upper bound, cumulative count) by bound, all routes summed; the last bound is +Inf.
    buckets: tuple[tuple[float, float], ...] = ()
    shed: float = 0.0
    rate_limited: float = 0.0
    outbox_pending: float | None = None
    consumer_lag: float | None = None
    # Upstream name → "open" / "half-open" (closed breakers are left out).
    breakers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rates:
    """One service over one interval (the gauges as of its end)."""

    requests_per_s: float
    server_errors_per_s: float
    error_percent: float | None
    p50_ms: float | None
    p99_ms: float | None
    shed_per_s: float
    rate_limited_per_s: float
    outbox_pending: float | None
    consumer_lag: float | None
    breakers: Mapping[str, str]


def parse_exposition(text: str, at: float) -> Sample:
    """A scrape's text (the Prometheus exposition format) as a `Sample`."""
    # Imported here: every `bazaar` command loads this module, only `top` needs the parser.
    from prometheus_client.parser import text_string_to_metric_families

    requests = errors = shed = limited = 0.0
    outbox: float | None = None
    lag: float | None = None
    buckets: dict[float, float] = {}
    breakers: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == REQUESTS:
                requests += value
                if labels.get("status", "").startswith("5"):
                    errors += value
            elif name == DURATION_BUCKET:
                bound = float(labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + value
            elif name == SHED:
                shed += value
            elif name == RATE_LIMITED:
                limited += value
            elif name == OUTBOX_PENDING:
                outbox = value
            elif name == CONSUMER_PENDING:
                lag = (lag or 0.0) + value
            elif name == BREAKER_STATE and value in BREAKER_STATES:
                breakers[labels.get("upstream", "?")] = BREAKER_STATES[value]
    return Sample(
        at, requests, errors, tuple(sorted(buckets.items())), shed, limited, outbox, lag, breakers
    )


def rates(before: Sample, after: Sample) -> Rates:
    """What happened between two scrapes of one service."""
    seconds = max(after.at - before.at, 1e-9)
    requests = _increase(before.requests, after.requests)
    errors = _increase(before.server_errors, after.server_errors)
    earlier = dict(before.buckets)
    # A restart resets every counter at once: then the new values are the whole increase.
    restarted = after.requests < before.requests
    deltas = [
        (bound, count if restarted else _increase(earlier.get(bound, 0.0), count))
        for bound, count in after.buckets
    ]
    return Rates(
        requests_per_s=requests / seconds,
        server_errors_per_s=errors / seconds,
        error_percent=100.0 * errors / requests if requests > 0 else None,
        p50_ms=_ms(histogram_quantile(0.5, deltas)),
        p99_ms=_ms(histogram_quantile(0.99, deltas)),
        shed_per_s=_increase(before.shed, after.shed) / seconds,
        rate_limited_per_s=_increase(before.rate_limited, after.rate_limited) / seconds,
        outbox_pending=after.outbox_pending,
        consumer_lag=after.consumer_lag,
        breakers=after.breakers,
    )


def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The q-quantile of cumulative `(upper bound, count)` buckets, linearly interpolated within
    its bucket (as Prometheus does: from 0 for the first, the highest finite bound if it falls
    in +Inf); None without observations."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        count = max(count, lower_count)  # cumulative counts never fall; a reset may look so
        if count >= rank and count > lower_count:
            if math.isinf(bound):
                return lower_bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def _increase(before: float, after: float) -> float:
    return after - before if after >= before else after


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


# -- scraping ------------------------------------------------------------------------------------


def scrape(port: int, *, timeout: float) -> str:
    """The `/metrics` text of the service on `port`; `OSError` when it does not answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", METRICS_PATH)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
    except http.client.HTTPException as error:
        raise OSError(str(error)) from error
    finally:
        conn.close()
    if response.status != 200:
        raise OSError(f"{METRICS_PATH} answered {response.status}")
    return body


@dataclass(frozen=True)
class ServiceRow:
    """One service in the view: `rates` is None until two scrapes in a row succeeded."""

    name: str
    up: bool
    rates: Rates | None = None
    problem: str = ""


class Top:
    """Scrapes the services on `ports` (name → port) and turns pairs of scrapes into rates."""

    def __init__(
        self,
        ports: Mapping[str, int],
        *,
        timeout: float = 1.0,
        fetch: Callable[[int, float], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ports = dict(ports)
        self._timeout = timeout
        self._fetch = fetch or (lambda port, timeout: scrape(port, timeout=timeout))
        self._clock = clock
        self._last: dict[str, Sample] = {}

    def refresh(self) -> list[ServiceRow]:
        """Scrapes every service at once (a hung one costs `timeout`, not the sum)."""
        with ThreadPoolExecutor(max_workers=max(1, len(self.ports))) as pool:
            outcomes = list(pool.map(self._sample, self.ports.items()))
        rows = []
        for name, outcome in zip(self.ports, outcomes, strict=True):
            previous = self._last.pop(name, None)
            if isinstance(outcome, str):
                rows.append(ServiceRow(name, up=False, problem=outcome))
                continue
            self._last[name] = outcome
            rows.append(ServiceRow(name, True, rates(previous, outcome) if previous else None))
        return rows

    def _sample(self, item: tuple[str, int]) -> Sample | str:
        _name, port = item
        try:
            text = self._fetch(port, self._timeout)
            return parse_exposition(text, self._clock())
        except Exception as error:  # whatever goes wrong with one service must not end the view
            return str(error) or type(error).__name__
