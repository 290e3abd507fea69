"""Figure 1: what the gateway costs in front of a trivial upstream, next to what nginx costs.

Three targets in alternating rounds: (a) the hello app directly, (b) nginx in front of it,
(c) Bazaar's gateway in front of it (`GET /orders/{id}`, a route that needs a token, with a
valid one). Throughput comes from a saturating run; latency from a run with few connections
(below saturation), where "added p99" is the proxy's p99 minus the direct p99.
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path

from .context import BenchContext
from .figures import Figure, Ratio, at_least, at_most
from .http_servers import Server, start_gateway, start_hello, start_nginx, throwaway_signer
from .processes import Children
from .stats import median, ratio
from .wrk_load import HttpLoad, Wrk

KEY = "gateway_overhead"
TITLE = "Gateway overhead (trivial upstream: direct / nginx / Bazaar gateway with auth)"


def run(ctx: BenchContext) -> Figure:
    figure = Figure(KEY, TITLE)
    work = ctx.work_dir / KEY
    work.mkdir(parents=True, exist_ok=True)
    with ctx.children(KEY) as children:
        _measure(ctx, figure, children, work)
    return figure


def _measure(ctx: BenchContext, figure: Figure, children: Children, work: Path) -> None:
    signer = throwaway_signer(work)
    token = signer.issue(str(uuid.uuid4()), roles=["customer"])
    hello = start_hello(children, work, signer)
    nginx = start_nginx(children, ctx.tools.nginx, work, hello)
    gateway = start_gateway(children, work, hello)
    wrk = Wrk.prepare(ctx.tools.wrk, work, children)
    path = f"/orders/{uuid.uuid4()}"
    auth = {"Authorization": f"Bearer {token}"}
    targets: list[tuple[Server, dict[str, str]]] = [(hello, {}), (nginx, {}), (gateway, auth)]

    throughput: dict[str, list[HttpLoad]] = {s.name: [] for s, _ in targets}
    latency: dict[str, list[HttpLoad]] = {s.name: [] for s, _ in targets}
    # A short warm-up of each, unmeasured: connection pools, the gateway's JWKS fetch.
    if not ctx.quick:
        for server, headers in targets:
            wrk.run(server.url + path, seconds=1, connections=ctx.connections, headers=headers)
    with ctx.profiler.profiling(KEY, {"gateway": gateway.pid}):
        for round_no in range(ctx.runs):
            for server, headers in targets:
                url = server.url + path
                tput = wrk.run(
                    url, seconds=ctx.seconds, connections=ctx.connections, headers=headers
                )
                lat = wrk.run(
                    url,
                    seconds=max(1.0, ctx.seconds / 2),
                    connections=ctx.latency_connections,
                    headers=headers,
                )
                throughput[server.name].append(tput)
                latency[server.name].append(lat)
                figure.runs.append(
                    {
                        "round": round_no,
                        "target": server.name,
                        "throughput": tput.to_json(),
                        "latency": lat.to_json(),
                    }
                )

    rps = {name: median([r.rps for r in runs]) for name, runs in throughput.items()}
    p99 = {name: median([r.p99_ms for r in runs]) for name, runs in latency.items()}
    p50 = {name: median([r.p50_ms for r in runs]) for name, runs in latency.items()}
    errors = {name: sum(r.errors for r in runs) for name, runs in throughput.items()}
    for name in rps:
        figure.values[f"{name}_rps"] = rps[name]
        figure.values[f"{name}_p50_ms"] = p50[name]
        figure.values[f"{name}_p99_ms"] = p99[name]
        figure.values[f"{name}_errors"] = float(errors[name])
    added_gateway = p99["gateway"] - p99["hello"]
    added_nginx = p99["nginx"] - p99["hello"]
    figure.values["gateway_added_p99_ms"] = added_gateway
    figure.values["nginx_added_p99_ms"] = added_nginx
    tput_ratio = ratio(rps["gateway"], rps["nginx"])
    # On a noisy machine a hop's added p99 can come out at or below zero: floor nginx's at
    # 0.1 ms (and the gateway's at 0) so the ratio stays finite; the raw values are kept.
    floored_gateway, floored_nginx = max(added_gateway, 0.0), max(added_nginx, 0.1)
    p99_ratio = ratio(floored_gateway, floored_nginx)
    figure.ratios = [
        Ratio("gateway rps / nginx rps", rps["gateway"], rps["nginx"], tput_ratio, "req/s",
              "≥ 0.8", at_least(tput_ratio, 0.8)),
        Ratio("gateway added p99 / nginx added p99", floored_gateway, floored_nginx, p99_ratio,
              "ms",
              "≤ 1.5", at_most(p99_ratio, 1.5)),
        Ratio("nginx rps / direct rps", rps["nginx"], rps["hello"],
              ratio(rps["nginx"], rps["hello"]), "req/s"),
    ]  # fmt: skip
    figure.notes.append(
        f"wrk -t1 -c{ctx.connections} for throughput, -c{ctx.latency_connections} for latency; "
        f"{ctx.runs} alternating round(s) of {ctx.seconds:g}s; medians"
    )
    if any(errors.values()):
        figure.notes.append(f"non-2xx or socket errors during throughput runs: {errors}")
    if math.isnan(tput_ratio):
        figure.notes.append("no successful gateway or nginx requests")
