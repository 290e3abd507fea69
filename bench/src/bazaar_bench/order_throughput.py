"""Figure 3: confirmed orders per second end to end, against pgbench replaying the SQL those
orders need (`pgbench_orders`), on the same PostgreSQL.

1. Saturation: closed-loop runs at a few concurrencies; the best is the saturation point.
2. Alternating rounds of pgbench and the closed loop at that concurrency: the ratio.
3. Open-loop runs at half the saturation rate: p50/p99 time-to-confirmed below saturation.
"""

from __future__ import annotations

import asyncio

from .context import BenchContext
from .figures import Figure, Ratio, at_least
from .order_driver import COARSE_POLLING, OrderFigures, measure_orders, measure_throughput
from .pgbench_orders import PgbenchOrders
from .stats import median, ratio
from .system_session import SystemSession

KEY = "order_throughput"
TITLE = "Order throughput (confirmed orders/s end to end vs pgbench running the same SQL)"
FULL_CONCURRENCIES = (8, 16, 32)
QUICK_CONCURRENCIES = (8,)
BELOW_SATURATION = 0.5


async def run(ctx: BenchContext, session: SystemSession) -> Figure:
    figure = Figure(KEY, TITLE)
    system = session.running
    shop = await session.shop()
    pids = {name: process.pid for name, process in system.processes.items()}
    levels = QUICK_CONCURRENCIES if ctx.quick else FULL_CONCURRENCIES

    async def closed(concurrency: int, phase: str) -> OrderFigures:
        result = await measure_throughput(
            system, seconds=ctx.order_seconds, concurrency=concurrency, shop=shop
        )
        figure.runs.append({"phase": phase, **result.to_json()})
        return result

    # One order first: connection pools, prepared statements, JIT-free first paths.
    await measure_orders(system, seconds=1, concurrency=1, shop=shop)
    with ctx.profiler.profiling(KEY, pids):
        sweep = {c: await closed(c, "saturation sweep") for c in levels}
    best = max(sweep, key=lambda c: sweep[c].confirmed_per_second)

    per_script = 1 if ctx.quick else 2
    with ctx.children(KEY) as children:
        pgbench = PgbenchOrders(ctx.tools.pgbench, system, children, ctx.work_dir / KEY)
        await pgbench.prepare()
        try:
            pg_rates: list[float] = []
            order_rates: list[float] = []
            for round_no in range(ctx.runs):
                combined, parts = await pgbench.measure(per_script)
                pg_rates.append(combined)
                figure.runs.append({"phase": "pgbench", "round": round_no,
                                    "orders_per_second": round(combined, 2),
                                    "per_database_tps": parts})  # fmt: skip
                orders = await closed(best, f"round {round_no}")
                order_rates.append(orders.confirmed_per_second)
        finally:
            await pgbench.cleanup()

    saturation = median(order_rates)
    polls_per_order = sweep[best].polls / max(sweep[best].placed, 1)
    session.saturation_rate = saturation
    session.saturation_concurrency = best
    rate = max(1.0, BELOW_SATURATION * saturation)
    fixed: list[OrderFigures] = []
    for _ in range(ctx.runs):
        result = await measure_orders(system, seconds=ctx.order_seconds, rate=rate, shop=shop)
        figure.runs.append({"phase": "fixed rate", **result.to_json()})
        fixed.append(result)
        await asyncio.sleep(0)

    pg_rate = median(pg_rates)
    v = figure.values
    v["saturation_orders_per_second"] = saturation
    v["saturation_concurrency"] = float(best)
    v["pgbench_orders_per_second"] = pg_rate
    v["fixed_rate_orders_per_second"] = rate
    v["fixed_rate_confirmed_per_second"] = median([f.confirmed_per_second for f in fixed])
    v["time_to_confirmed_p50_ms"] = median([f.p50_ms for f in fixed])
    v["time_to_confirmed_p99_ms"] = median([f.p99_ms for f in fixed])
    v["failed_orders"] = float(sum(f.failed for f in fixed) + sum(s.failed for s in sweep.values()))
    value = ratio(saturation, pg_rate)
    figure.ratios = [
        Ratio("confirmed orders/s / pgbench orders/s", saturation, pg_rate, value, "orders/s",
              "≥ 0.25", at_least(value, 0.25)),
    ]  # fmt: skip
    figure.notes.append(
        f"saturation: closed loop at concurrency {', '.join(map(str, levels))} "
        f"({ctx.order_seconds:g}s each), best {best}; {ctx.runs} alternating round(s) with pgbench "
        f"(-c{pgbench.clients} -j1 -M prepared, {per_script}s per database); latency: open loop "
        f"at {rate:.1f} orders/s ({BELOW_SATURATION:g} x saturation), polling every 20 ms or "
        f"a tenth of the wait so far; saturation runs poll after {COARSE_POLLING[0]:g} s, then "
        f"every {COARSE_POLLING[1]:g} of the wait ({polls_per_order:.1f} polls per order)"
    )
    return figure
