"""Figure 6: what tracing costs: order throughput with spans exported to files (the default)
against the same system with the export off, in alternating rounds.

Needs `SystemConfig.traces_exporter` ("file" | "none"); until that field exists the figure is
skipped with a note. Switching is a restart of every service on the same PostgreSQL and NATS
(the launcher builds a service's environment from the config at each spawn), so both sides run
on the same databases, broker and cores, with nothing else idling beside them.
"""

from __future__ import annotations

from bazaar_local.system import System

from .context import BenchContext
from .figures import Figure, Ratio
from .order_driver import OrderFigures, measure_orders, measure_throughput
from .stats import median, ratio
from .system_session import SystemSession

KEY = "tracing_overhead"
TITLE = "Tracing overhead (confirmed orders/s with traces exported to files vs none)"
DEFAULT_CONCURRENCY = 16
EXPORTERS = ("file", "none")


def switch_exporter(system: System, exporter: str) -> None:
    """Restart every service with TRACES_EXPORTER=`exporter` (all at once, then wait)."""
    system.config.traces_exporter = exporter
    names = [spec.name for spec in system.config.services]
    for spec in system.config.services:
        got = system.service_environment(spec).get("TRACES_EXPORTER")
        if got != exporter:
            raise RuntimeError(f"{spec.name} would start with TRACES_EXPORTER={got!r}")
    for name in names:
        system.restart_service(name, wait=False)
    for name in names:
        system.wait_ready(name)


async def run(ctx: BenchContext, session: SystemSession) -> Figure:
    figure = Figure(KEY, TITLE)
    system = session.running
    original = system.config.traces_exporter
    try:
        await _compare(ctx, session, figure, system)
    finally:
        if system.config.traces_exporter != original:
            switch_exporter(system, original)
    return figure


async def _compare(
    ctx: BenchContext, session: SystemSession, figure: Figure, system: System
) -> None:
    concurrency = session.saturation_concurrency or DEFAULT_CONCURRENCY
    shop = await session.shop()
    results: dict[str, list[OrderFigures]] = {name: [] for name in EXPORTERS}
    for round_no in range(ctx.runs):
        # Alternate which goes first, so neither always runs on a freshly restarted system.
        order = EXPORTERS if round_no % 2 == 0 else EXPORTERS[::-1]
        for exporter in order:
            if system.config.traces_exporter != exporter:
                switch_exporter(system, exporter)
            await measure_orders(system, seconds=1, concurrency=1, shop=shop)  # warm-up
            result = await measure_throughput(
                system, seconds=ctx.order_seconds, concurrency=concurrency, shop=shop
            )
            results[exporter].append(result)
            figure.runs.append({"round": round_no, "traces": exporter, **result.to_json()})
    v = figure.values
    for name, runs in results.items():
        v[f"{name}_orders_per_second"] = median([r.confirmed_per_second for r in runs])
        v[f"{name}_p50_ms"] = median([r.p50_ms for r in runs])
        v[f"{name}_p99_ms"] = median([r.p99_ms for r in runs])
    figure.ratios = [
        Ratio("orders/s traced / untraced", v["file_orders_per_second"],
              v["none_orders_per_second"],
              ratio(v["file_orders_per_second"], v["none_orders_per_second"]), "orders/s"),
        Ratio("p50 time-to-confirmed traced / untraced", v["file_p50_ms"], v["none_p50_ms"],
              ratio(v["file_p50_ms"], v["none_p50_ms"]), "ms"),
    ]  # fmt: skip
    figure.notes.append(
        f"closed loop at concurrency {concurrency}, {ctx.runs} alternating round(s) of "
        f"{ctx.order_seconds:g}s; services restarted to switch TRACES_EXPORTER"
    )
