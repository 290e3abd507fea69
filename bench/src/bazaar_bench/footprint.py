"""Figure 5: start-up to all-ready and the memory of every process of a running Bazaar.

Start-up is `System.start()` (what `bazaar up` runs) on a data folder that already exists (an
installed shop; the first, cold start with initdb and migrations is reported too). Memory is
read from /proc/<pid>/smaps_rollup after the other figures have loaded the system: RSS, and PSS,
which splits shared pages between the processes that share them (PostgreSQL's backends share
its buffers, so their summed RSS over-counts). Baselines from the same run: the hello upstream
(uvicorn + uvloop, nothing else) for a process's memory and for start-up to ready.
"""

from __future__ import annotations

import sys
import time

from bazaar_local.ports import free_port

from .context import BenchContext
from .figures import Figure, Ratio, at_most
from .http_servers import answers
from .memory import Memory, read_memory, system_memory
from .processes import wait_for
from .stats import median, ratio
from .system_session import SystemSession

KEY = "footprint"
TITLE = "Footprint (start-up to all-ready; memory of every process)"
START_TARGET_SECONDS = 5.0
MEMORY_TARGET_MB = 700.0


def _hello_baseline(ctx: BenchContext) -> tuple[float, Memory | None]:
    """Seconds from spawning the hello upstream to its first 200, and its memory then."""
    port = free_port()
    with ctx.children(KEY) as children:
        started = time.perf_counter()
        process = children.start(
            "hello", [sys.executable, "-m", "bazaar_bench.hello_app", "--port", str(port)]
        )
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/health"), timeout=30, what="hello")
        seconds = time.perf_counter() - started
        return seconds, read_memory("hello", process.pid)


async def run(ctx: BenchContext, session: SystemSession) -> Figure:
    figure = Figure(KEY, TITLE)
    system = session.running
    baselines = [_hello_baseline(ctx) for _ in range(ctx.runs)]
    hello_start = median([s for s, _ in baselines])
    hello_rss = median([m.rss_mb for _, m in baselines if m is not None])
    # The footprint of `bazaar up`: right after the start. After the other figures' load the
    # pools hold more connections (a PostgreSQL backend each): reported beside it.
    memory = session.started_memory or system_memory(system)
    loaded = system_memory(system)
    total_rss = sum(m.rss_mb for m in memory)
    total_pss = sum(m.pss_mb for m in memory)
    figure.values["loaded_total_pss_mb"] = sum(m.pss_mb for m in loaded)
    figure.values["loaded_total_rss_mb"] = sum(m.rss_mb for m in loaded)
    figure.values["loaded_postgres_backends"] = float(
        len([m for m in loaded if m.name == "postgres backend"])
    )
    start = session.warm_start_seconds or session.cold_start_seconds or float("nan")
    v = figure.values
    v["start_seconds"] = start
    if session.cold_start_seconds is not None:
        v["cold_start_seconds"] = session.cold_start_seconds
    v["hello_start_seconds"] = hello_start
    v["total_rss_mb"] = total_rss
    v["total_pss_mb"] = total_pss
    v["hello_rss_mb"] = hello_rss
    services = [m for m in memory if m.name not in ("postgres", "postgres backend", "nats")]
    v["largest_service_rss_mb"] = max((m.rss_mb for m in services), default=float("nan"))
    for m in memory:
        if m.name != "postgres backend":
            v[f"{m.name}_rss_mb"] = m.rss_mb
            v[f"{m.name}_pss_mb"] = m.pss_mb
    backends = [m for m in memory if m.name == "postgres backend"]
    v["postgres_backends"] = float(len(backends))
    v["postgres_backends_rss_mb"] = sum(m.rss_mb for m in backends)
    v["postgres_backends_pss_mb"] = sum(m.pss_mb for m in backends)
    figure.runs = [
        {"process": m.name, "pid": m.pid, "rss_mb": round(m.rss_mb, 1),
         "pss_mb": round(m.pss_mb, 1)}
        for m in memory
    ]  # fmt: skip
    start_vs_target = ratio(start, START_TARGET_SECONDS)
    pss_vs_target = ratio(total_pss, MEMORY_TARGET_MB)
    figure.ratios = [
        Ratio("start-up / 5 s target", start, START_TARGET_SECONDS, start_vs_target, "s",
              "≤ 1.0", at_most(start_vs_target, 1.0)),
        Ratio("total PSS / 700 MB target", total_pss, MEMORY_TARGET_MB, pss_vs_target, "MB",
              "≤ 1.0", at_most(pss_vs_target, 1.0)),
        Ratio("total PSS under load / 700 MB", v["loaded_total_pss_mb"], MEMORY_TARGET_MB,
              ratio(v["loaded_total_pss_mb"], MEMORY_TARGET_MB), "MB"),
        Ratio("start-up / hello start-up", start, hello_start, ratio(start, hello_start), "s"),
        Ratio("largest service RSS / hello RSS", v["largest_service_rss_mb"], hello_rss,
              ratio(v["largest_service_rss_mb"], hello_rss), "MB"),
    ]  # fmt: skip
    figure.notes.append(
        f"right after start: {len(memory)} processes ({len(backends)} PostgreSQL backends); "
        f"total RSS {total_rss:.0f} MB over-counts shared pages, PSS {total_pss:.0f} MB does "
        f"not; after the other figures' load: {int(v['loaded_postgres_backends'])} backends, "
        f"PSS {v['loaded_total_pss_mb']:.0f} MB"
    )
    if session.warm_start_seconds is None:
        figure.notes.append("start-up measured on a fresh data folder only (cold start)")
    return figure
