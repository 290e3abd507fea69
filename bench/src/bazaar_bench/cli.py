"""`python -m bazaar_bench` (and `bazaar bench`): run the figures, write and print the results.

uv run --frozen python -m bazaar_bench                      # everything, ~5 minutes
uv run --frozen python -m bazaar_bench --quick              # the CI smoke: ~1 s per figure
uv run --frozen python -m bazaar_bench --only gateway,orders --runs 5
uv run --frozen python -m bazaar_bench --only orders --profile orders,gateway
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from bazaar_local.paths import repo_root
from bazaar_local.testing import make_shared_temp_dir

from . import (
    catalog_reads,
    event_lag,
    footprint,
    gateway_overhead,
    order_throughput,
    tracing_overhead,
)
from .context import BenchContext
from .cpus import enter_load_role, plan_cpus
from .debian_tools import ensure_tools
from .figures import Figure
from .profiling import PROFILE_FORMATS, Profiler
from .results import RunReport, markdown_report, write_results
from .system_session import SystemSession

SystemBenchmark = Callable[[BenchContext, SystemSession], Awaitable[Figure]]
# Short names on the command line → figure keys, in the order they run.
NAMES = {
    "gateway": gateway_overhead.KEY,
    "catalog": catalog_reads.KEY,
    "orders": order_throughput.KEY,
    "events": event_lag.KEY,
    "footprint": footprint.KEY,
    "tracing": tracing_overhead.KEY,
}
SYSTEM_BENCHMARKS: dict[str, SystemBenchmark] = {
    catalog_reads.KEY: catalog_reads.run,
    order_throughput.KEY: order_throughput.run,
    event_lag.KEY: event_lag.run,
    footprint.KEY: footprint.run,
    tracing_overhead.KEY: tracing_overhead.run,
}

_log = logging.getLogger("bazaar_bench")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bazaar bench", description="Bazaar's benchmarks: each figure against a baseline "
        "measured in the same run (see bench/README.md)."
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smoke mode: ~1 s per benchmark")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(NAMES)}")
    parser.add_argument("--runs", type=int, help="alternating rounds per figure (default 3)")
    parser.add_argument("--seconds", type=float, help="length of one load phase (default 4)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--latency-connections", type=int, default=4)
    parser.add_argument("--out", type=Path, help="results folder (default bench/results)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin load and servers")
    parser.add_argument("--durable", action="store_true", help="PostgreSQL with fsync on")
    parser.add_argument(
        "--profile", default="", help="py-spy these services while loaded ('all' for all)"
    )
    parser.add_argument("--profile-format", choices=sorted(PROFILE_FORMATS), default="speedscope")
    return parser.parse_args(argv)


def selected(only: str) -> list[str]:
    if not only.strip():
        return list(NAMES.values())
    keys = []
    for name in only.split(","):
        name = name.strip()
        key = NAMES.get(name, name)
        if key not in NAMES.values():
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(NAMES)}")
        keys.append(key)
    return [key for key in NAMES.values() if key in keys]


def _terminate_as_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _failed(key: str, error: Exception) -> Figure:
    _log.error("%s failed:\n%s", key, traceback.format_exc())
    return Figure(key, key, skipped=f"failed: {type(error).__name__}: {error}"[:300])


def _timed(figure: Figure, started: float) -> Figure:
    figure.seconds = time.monotonic() - started
    print(f"  {figure.key}: done in {figure.seconds:.0f}s", file=sys.stderr, flush=True)
    return figure


async def _system_figures(ctx: BenchContext, keys: list[str]) -> list[Figure]:
    figures: list[Figure] = []
    started = time.monotonic()
    try:
        session = SystemSession(ctx, measure_start=footprint.KEY in keys and not ctx.quick)
        session.start()
    except Exception as error:
        return [_failed(key, error) for key in keys]
    print(f"  system ready in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    try:
        for key in keys:
            began = time.monotonic()
            try:
                figures.append(_timed(await SYSTEM_BENCHMARKS[key](ctx, session), began))
            except Exception as error:
                figures.append(_failed(key, error))
    finally:
        session.stop()
    return figures


def run(ctx: BenchContext, keys: list[str]) -> list[Figure]:
    figures: list[Figure] = []
    if gateway_overhead.KEY in keys:
        began = time.monotonic()
        try:
            figures.append(_timed(gateway_overhead.run(ctx), began))
        except Exception as error:
            figures.append(_failed(gateway_overhead.KEY, error))
    system_keys = [k for k in keys if k in SYSTEM_BENCHMARKS]
    if system_keys:
        figures.extend(asyncio.run(_system_figures(ctx, system_keys)))
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    keys = selected(args.only)
    rounds, seconds = BenchContext.phases(quick=args.quick, runs=args.runs)
    seconds = args.seconds or seconds
    out_dir = args.out or repo_root() / "bench" / "results"
    plan = plan_cpus(pin=not args.no_pin)
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    affinity = os.sched_getaffinity(0)
    work_dir = make_shared_temp_dir("bazaar-bench-work-")
    try:
        tools = ensure_tools()
        enter_load_role(plan)
        profiler = (
            Profiler(frozenset(p.strip() for p in args.profile.split(",") if p.strip()),
                     out_dir / "profiles", fmt=args.profile_format)
            if args.profile else Profiler.disabled()
        )  # fmt: skip
        ctx = BenchContext(
            quick=args.quick,
            runs=rounds,
            seconds=seconds,
            connections=args.connections,
            latency_connections=args.latency_connections,
            out_dir=out_dir,
            work_dir=work_dir,
            plan=plan,
            tools=tools,
            profiler=profiler,
            durable=args.durable,
        )
        report = RunReport(
            started=datetime.now(UTC),
            mode="quick" if args.quick else "full",
            runs=rounds,
            seconds=seconds,
            cpu_plan=plan.describe(),
            load_generators=(
                f"wrk -t1 -c{args.connections} (latency phases -c{args.latency_connections}); "
                "orders and events: the Python driver (aiohttp) in the bench process; pgbench"
            ),
        )
        print(f"bazaar bench: {', '.join(keys)} ({plan.describe()})", file=sys.stderr, flush=True)
        started = time.monotonic()
        report.figures = run(ctx, keys)
        report.total_seconds = time.monotonic() - started
        report.profiles = [str(p) for p in profiler.written]
        latest, table = write_results(report, out_dir)
    finally:
        signal.signal(signal.SIGTERM, previous)
        os.sched_setaffinity(0, affinity)
        shutil.rmtree(work_dir, ignore_errors=True)
    print(markdown_report(report))
    print(f"results: {latest} and {table}", file=sys.stderr)
    return 1 if any(f.skipped and f.skipped.startswith("failed") for f in report.figures) else 0
