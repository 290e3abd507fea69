"""Figure 2: `GET /products/{id}` through the gateway of a whole Bazaar, against the trivial
hello upstream reached directly (figure 1's (a)), in alternating rounds of the same wrk load."""

from __future__ import annotations

from .context import BenchContext
from .figures import Figure, Ratio
from .http_servers import start_hello, throwaway_signer
from .stats import median, ratio
from .system_session import SystemSession
from .wrk_load import HttpLoad, Wrk

KEY = "catalog_reads"
TITLE = "Catalog reads (GET /products/{id} through the gateway vs the hello upstream)"


async def run(ctx: BenchContext, session: SystemSession) -> Figure:
    figure = Figure(KEY, TITLE)
    system = session.running
    shop = await session.shop()
    work = ctx.work_dir / KEY
    work.mkdir(parents=True, exist_ok=True)
    catalog_url = f"{system.gateway_url}/products/{shop.products[0]}"
    with ctx.children(KEY) as children:
        hello = start_hello(children, work, throwaway_signer(work))
        wrk = Wrk.prepare(ctx.tools.wrk, work, children)
        targets = {"hello": f"{hello.url}/products/{shop.products[0]}", "catalog": catalog_url}
        for url in targets.values() if not ctx.quick else ():
            wrk.run(url, seconds=1, connections=ctx.connections)  # warm-up
        loads: dict[str, list[HttpLoad]] = {name: [] for name in targets}
        pids = {name: process.pid for name, process in system.processes.items()}
        with ctx.profiler.profiling(KEY, pids):
            for round_no in range(ctx.runs):
                for name, url in targets.items():
                    load = wrk.run(url, seconds=ctx.seconds, connections=ctx.connections)
                    loads[name].append(load)
                    figure.runs.append({"round": round_no, "target": name, **load.to_json()})
    for name, runs in loads.items():
        figure.values[f"{name}_rps"] = median([r.rps for r in runs])
        figure.values[f"{name}_p50_ms"] = median([r.p50_ms for r in runs])
        figure.values[f"{name}_p99_ms"] = median([r.p99_ms for r in runs])
        figure.values[f"{name}_errors"] = float(sum(r.errors for r in runs))
    v = figure.values
    figure.ratios = [
        Ratio("catalog rps / hello rps", v["catalog_rps"], v["hello_rps"],
              ratio(v["catalog_rps"], v["hello_rps"]), "req/s"),
        Ratio("catalog p99 / hello p99", v["catalog_p99_ms"], v["hello_p99_ms"],
              ratio(v["catalog_p99_ms"], v["hello_p99_ms"]), "ms"),
    ]  # fmt: skip
    figure.notes.append(
        f"wrk -t1 -c{ctx.connections}, {ctx.runs} alternating round(s) of {ctx.seconds:g}s; "
        "gateway RATE_LIMITS raised (SystemConfig.extra_env) so one client is not limited"
    )
    if v["catalog_errors"]:
        figure.notes.append(f"{v['catalog_errors']:.0f} non-2xx/socket errors on the catalog")
    return figure
