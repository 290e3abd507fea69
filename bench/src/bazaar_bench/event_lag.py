"""Figure 4: event lag, outbox commit → consumer effect, at a fixed event rate, against raw
NATS JetStream publish → consume latency on the same server, in alternating rounds.

Orders are placed open loop at a fixed rate; each confirmed order's `OrderConfirmed` outbox row
(orders database, `created_at` = its transaction's start) is matched by event id with the
notification the consumer wrote for it (notifications database, `created_at`). Both clocks are
the one PostgreSQL server's, so the difference is the relay + broker + consumer path.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from bazaar_local.system import System

from .context import BenchContext
from .figures import Figure, Ratio
from .nats_latency import publish_consume_latencies, summarize
from .order_driver import measure_orders
from .stats import median, percentile, ratio
from .system_session import SystemSession

KEY = "event_lag"
TITLE = "Event lag (OrderConfirmed outbox row → notification row vs raw NATS JetStream)"
CONFIRMED = "bazaar.orders.order.confirmed.v1"
DEFAULT_RATE = 5.0


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def outbox_to_effect_lags(system: System, since: float, *, wait: float = 15.0) -> list[float]:
    """ms from each OrderConfirmed outbox row created after `since` (epoch s) to its
    notification; waits up to `wait` s for the consumer to catch up."""
    orders = await asyncpg.connect(_plain(system.database_urls["orders"]))
    notifications = await asyncpg.connect(_plain(system.database_urls["notifications"]))
    try:
        rows = await orders.fetch(
            "SELECT event_id, created_at FROM outbox WHERE event_type = $1 "
            "AND created_at >= to_timestamp($2)",
            CONFIRMED,
            since,
        )
        created = {str(r["event_id"]): r["created_at"] for r in rows}
        deadline = time.monotonic() + wait
        while True:
            effects = await notifications.fetch(
                "SELECT event_id::text AS event_id, created_at FROM notifications "
                "WHERE event_id = ANY($1::uuid[])",
                list(created),
            )
            if len(effects) >= len(created) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    finally:
        await orders.close()
        await notifications.close()
    return [
        (e["created_at"] - created[e["event_id"]]).total_seconds() * 1000
        for e in effects
        if e["event_id"] in created
    ]


async def run(ctx: BenchContext, session: SystemSession) -> Figure:
    figure = Figure(KEY, TITLE)
    system = session.running
    shop = await session.shop()
    known = session.saturation_rate
    rate = min(DEFAULT_RATE * 2, 0.5 * known) if known else DEFAULT_RATE
    rate = max(1.0, rate)
    lag_p50: list[float] = []
    lag_p99: list[float] = []
    nats_p50: list[float] = []
    nats_p99: list[float] = []
    pids = {name: process.pid for name, process in system.processes.items()}
    with ctx.profiler.profiling(KEY, pids):
        for round_no in range(ctx.runs):
            since = time.time() - 0.5  # PostgreSQL's clock, to within this margin
            orders = await measure_orders(system, seconds=ctx.order_seconds, rate=rate, shop=shop)
            lags = await outbox_to_effect_lags(system, since)
            raw = await publish_consume_latencies(
                system.nats_url, rate=rate, seconds=ctx.order_seconds
            )
            raw_summary = summarize(raw)
            lag_p50.append(percentile(lags, 50))
            lag_p99.append(percentile(lags, 99))
            nats_p50.append(raw_summary["p50_ms"])
            nats_p99.append(raw_summary["p99_ms"])
            figure.runs.append({
                "round": round_no,
                "orders": orders.to_json(),
                "events": len(lags),
                "lag_p50_ms": round(lag_p50[-1], 2),
                "lag_p99_ms": round(lag_p99[-1], 2),
                "nats_messages": int(raw_summary["count"]),
                "nats_p50_ms": round(raw_summary["p50_ms"], 3),
                "nats_p99_ms": round(raw_summary["p99_ms"], 3),
            })  # fmt: skip
    v = figure.values
    v["event_rate_per_second"] = rate
    v["lag_p50_ms"] = median(lag_p50)
    v["lag_p99_ms"] = median(lag_p99)
    v["nats_p50_ms"] = median(nats_p50)
    v["nats_p99_ms"] = median(nats_p99)
    figure.ratios = [
        Ratio("event lag p50 / NATS p50", v["lag_p50_ms"], v["nats_p50_ms"],
              ratio(v["lag_p50_ms"], v["nats_p50_ms"]), "ms"),
        Ratio("event lag p99 / NATS p99", v["lag_p99_ms"], v["nats_p99_ms"],
              ratio(v["lag_p99_ms"], v["nats_p99_ms"]), "ms"),
    ]  # fmt: skip
    figure.notes.append(
        f"{rate:.1f} orders/s (so {rate:.1f} OrderConfirmed events/s) open loop for "
        f"{ctx.order_seconds:g}s, then raw NATS at the same rate; {ctx.runs} alternating round(s)"
    )
    return figure
