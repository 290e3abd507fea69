"""A whole Bazaar for benchmarks: started as `bazaar up` starts it (same `System`), on free
ports and a temp data folder, with the gateway's per-client rate limits raised (every bench
client is one loopback address) and logs at WARNING."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bazaar_local.system import System, SystemConfig

from .cpus import CpuPlan
from .http_servers import UNLIMITED_RATE_LIMITS

BENCH_ENV: dict[str, dict[str, str]] = {"gateway": {"RATE_LIMITS": UNLIMITED_RATE_LIMITS}}
PASSWORD = "bench password, long enough"  # noqa: S105 (throwaway shoppers)


def bench_config(
    data_dir: Path, *, durable: bool = False, traces_exporter: str | None = None
) -> SystemConfig:
    """Durability off unless `durable` (as the system tests run it): on a shared VM disk the
    fsyncs would make every order figure a disk figure (see bench/README.md)."""
    config = SystemConfig.with_free_ports(
        data_dir, extra_env=BENCH_ENV, log_level="WARNING", fast_postgres=not durable
    )
    if traces_exporter is not None:
        config.traces_exporter = traces_exporter
    return config


def start_system(
    config: SystemConfig, plan: CpuPlan, *, pinned_start: bool = True
) -> tuple[System, float]:
    """Start it with every process on the servers' cores; returns it and the seconds to ready.
    The caller stops it (also on failure of the start, which `System.start` handles itself).

    `pinned_start=False` starts it as `bazaar up` does, on every core (the start-up figure),
    and moves its processes to the servers' cores once it is ready."""
    system = System(config)
    if not pinned_start:
        with plan.as_everything():
            started = time.perf_counter()
            system.start()
            seconds = time.perf_counter() - started
        for pid in system_pids(system):
            plan.pin_process(pid, "servers")
        return system, seconds
    with plan.as_servers():
        started = time.perf_counter()
        system.start()
        return system, time.perf_counter() - started


def system_pids(system: System) -> list[int]:
    """Every process of a running system: services, NATS, PostgreSQL and its backends (new
    backends are forked by the postmaster and inherit its affinity)."""
    pids = [p.pid for p in system.processes.values()]
    if system.nats.pid is not None:
        pids.append(system.nats.pid)
    if system.postgres.pid is not None:
        pids.append(system.postgres.pid)
        pids.extend(children_of(system.postgres.pid))
    return pids


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text(encoding="utf-8")
        except OSError:
            continue
        # The command may hold spaces and parentheses: fields start after the last ')'.
        after = stat.rsplit(")", 1)[1].split()
        if int(after[1]) == pid:
            found.append(int(entry))
    return found


@dataclass(frozen=True)
class Shop:
    """What the order and catalog benchmarks need on a running system."""

    gateway_url: str
    admin_headers: Mapping[str, str]
    shoppers: tuple[Mapping[str, str], ...]  # authorization headers
    products: tuple[str, ...]


async def _token(session: aiohttp.ClientSession, url: str, email: str, password: str) -> str:
    async with session.post(
        f"{url}/auth/token", json={"email": email, "password": password}
    ) as answer:
        if answer.status != 200:
            raise RuntimeError(f"login {email}: {answer.status} {await answer.text()}")
        body = await answer.json()
        return str(body["accessToken"])


async def prepare_shop(system: System, *, shoppers: int = 8, products: int = 20) -> Shop:
    """Logs the admin in, creates products with ample stock, registers shoppers."""
    url = system.gateway_url
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        admin = {
            "authorization": "Bearer "
            + await _token(session, url, system.admin_email, system.admin_password)
        }
        product_ids: list[str] = []
        for n in range(products):
            sku = f"BENCH-{n}-{uuid.uuid4().hex[:8]}"
            body = {"sku": sku, "name": f"Bench {n}", "price": "9.99", "inventory": 1_000_000}
            async with session.post(f"{url}/products", json=body, headers=admin) as answer:
                if answer.status != 201:
                    raise RuntimeError(f"create product: {answer.status} {await answer.text()}")
                product_ids.append(str((await answer.json())["productId"]))
        tokens: list[Mapping[str, str]] = []
        for _ in range(shoppers):
            email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
            body = {"email": email, "password": PASSWORD}
            async with session.post(f"{url}/users", json=body) as answer:
                if answer.status != 201:
                    raise RuntimeError(f"register: {answer.status} {await answer.text()}")
            token = await _token(session, url, email, PASSWORD)
            tokens.append({"authorization": f"Bearer {token}"})
    return Shop(url, admin, tuple(tokens), tuple(product_ids))
