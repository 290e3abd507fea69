"""Overload a Bazaar service on loopback and report what it did, as JSON.

    uv run --frozen python bench/overload.py                 # products of a running `bazaar up`
    uv run --frozen python bench/overload.py --url http://127.0.0.1:8003/health --seconds 3

Phase 1 measures capacity (closed loop, `--connections` at once), phase 2 offers `--factor` times
that rate open loop for `--seconds`, phase 3 checks the service answers normally again. The
machinery lives in `bazaar_local.overload` (the system tests run it in-process too).

Without `--url` it targets `GET /products/{id}` on the products service directly (port 8002),
the id taken from the catalog: the gateway would mostly measure its own per-client rate limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.request

from bazaar_local.overload import OverloadConfig, run_overload

DEFAULT_SERVICE = "http://127.0.0.1:8002"


def default_url(base: str) -> str:
    """`<base>/products/{id}` of the first product in the catalog."""
    with urllib.request.urlopen(f"{base}/products?limit=1", timeout=5) as answer:  # noqa: S310
        items = json.load(answer)["items"]
    if not items:
        raise SystemExit(f"{base} has no products; pass --url")
    return f"{base}/products/{items[0]['productId']}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="Loopback URL to load (default: a product on :8002)")
    parser.add_argument("--seconds", type=float, default=5.0, help="Overload phase length")
    parser.add_argument("--capacity-seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16, help="Capacity-phase workers")
    parser.add_argument("--factor", type=float, default=3.0, help="Offered load, times capacity")
    parser.add_argument("--max-requests", type=int, default=100_000, help="Cap over the run")
    parser.add_argument("--max-outstanding", type=int, default=1_000)
    parser.add_argument("--timeout", type=float, default=10.0, help="Per request, seconds")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    config = OverloadConfig(
        url=args.url or default_url(DEFAULT_SERVICE),
        seconds=args.seconds,
        capacity_seconds=args.capacity_seconds,
        connections=args.connections,
        factor=args.factor,
        max_requests=args.max_requests,
        max_outstanding=args.max_outstanding,
        timeout_seconds=args.timeout,
        headers={k.strip(): v.strip() for k, v in headers.items()},
    )
    report = asyncio.run(run_overload(config))
    json.dump(report.to_json(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
