"""The order driver: places orders through the gateway and polls each until it is terminal.

    figures = await measure_orders(system, seconds=5, concurrency=16)   # closed loop
    figures = await measure_orders(system, seconds=5, rate=20)          # open loop, orders/s

Closed loop: `concurrency` shoppers each place an order, poll it to CONFIRMED, place the next.
Open loop: orders leave on a fixed schedule whatever the answers do (the way to measure latency
below saturation). Throughput counts confirmations observed inside the window after a short
warm-up; time-to-confirmed is from sending the POST to the poll that saw CONFIRMED. Polls come
every `poll_seconds` (20 ms) at first and then every `poll_fraction` (a tenth) of the time
waited so far (at most 250 ms): the resolution stays within ~10% of what is measured. Polls are
load on the system the orders compete with (a poll costs the gateway and orders about what an
order's step does), so the saturation runs poll coarsely (`COARSE_POLLING`): there throughput is
the figure, and each order's latency only needs to end its shopper's turn. `polls_per_order`
says what the polls cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bazaar_local.system import System

from .bench_system import Shop, prepare_shop
from .stats import percentile

TERMINAL = frozenset({"CONFIRMED", "REJECTED", "CANCELLED"})
MAX_POLL_SECONDS = 0.25
# (first poll after, fraction of the time waited so far) for runs that measure throughput only.
COARSE_POLLING = (0.1, 0.5)
_shops: dict[int, Shop] = {}


@dataclass
class OrderFigures:
    seconds: float
    concurrency: int | None
    offered_rate: float | None
    placed: int = 0
    confirmed: int = 0
    rejected: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    # Confirmations observed inside the measured window, per second.
    confirmed_per_second: float = 0.0
    polls: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    # (order id, wall-clock POST time, seconds to CONFIRMED) of the confirmed orders sent.
    confirmed_orders: list[tuple[str, float, float]] = field(default_factory=list)
    wall_start: float = 0.0
    wall_end: float = 0.0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "concurrency": self.concurrency,
            "offered_rate": None if self.offered_rate is None else round(self.offered_rate, 2),
            "placed": self.placed,
            "confirmed": self.confirmed,
            "rejected": self.rejected,
            "failed": self.failed,
            "failures": dict(self.failures),
            "confirmed_per_second": round(self.confirmed_per_second, 2),
            "polls_per_order": round(self.polls / self.placed, 1) if self.placed else None,
            "p50_ms": round(self.p50_ms, 1) if self.p50_ms == self.p50_ms else None,
            "p99_ms": round(self.p99_ms, 1) if self.p99_ms == self.p99_ms else None,
        }


async def shop_for(system: System) -> Shop:
    """The products and shoppers the driver uses on `system`, made once per system."""
    shop = _shops.get(id(system))
    if shop is None or shop.gateway_url != system.gateway_url:
        shop = _shops[id(system)] = await prepare_shop(system)
    return shop


async def measure_orders(
    system: System,
    *,
    seconds: float,
    concurrency: int | None = None,
    rate: float | None = None,
    shop: Shop | None = None,
    poll_seconds: float = 0.02,
    poll_fraction: float = 0.1,
    grace_seconds: float = 20.0,
) -> OrderFigures:
    """Drive orders for `seconds`, closed loop (`concurrency`) or open loop (`rate` per s)."""
    if (concurrency is None) == (rate is None):
        raise ValueError("give exactly one of concurrency and rate")
    shop = shop or await shop_for(system)
    driver = _Driver(
        shop, seconds, (poll_seconds, poll_fraction), concurrency=concurrency, rate=rate
    )
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await driver.run(session, grace_seconds)
    return driver.figures


async def measure_throughput(
    system: System, *, seconds: float, concurrency: int, shop: Shop | None = None
) -> OrderFigures:
    """A closed loop that measures confirmed orders/s only: it polls coarsely, so the polls
    stay a small part of the load the orders compete with."""
    first, fraction = COARSE_POLLING
    return await measure_orders(
        system,
        seconds=seconds,
        concurrency=concurrency,
        shop=shop,
        poll_seconds=first,
        poll_fraction=fraction,
    )


class _Driver:
    def __init__(
        self,
        shop: Shop,
        seconds: float,
        polling: tuple[float, float],
        *,
        concurrency: int | None,
        rate: float | None,
    ) -> None:
        self.shop = shop
        self.seconds = seconds
        self.poll_seconds, self.poll_fraction = polling
        self.concurrency = concurrency
        self.rate = rate
        self.figures = OrderFigures(seconds, concurrency, rate)
        self.warmup = min(1.0, 0.2 * seconds)
        self._who = itertools.cycle(range(len(shop.shoppers)))
        self._what = itertools.cycle(shop.products)
        self._confirmed_at: list[float] = []
        self._started = 0.0
        self._end = 0.0

    async def run(self, session: aiohttp.ClientSession, grace: float) -> None:
        self._started = time.monotonic()
        self._end = self._started + self.seconds
        self.figures.wall_start = time.time()
        if self.concurrency is not None:
            tasks = [asyncio.create_task(self._worker(session)) for _ in range(self.concurrency)]
        else:
            tasks = await self._schedule(session)
        # Orders still in flight at the end finish (or are abandoned after `grace`).
        _, pending = await asyncio.wait(tasks, timeout=self.seconds + grace)
        for task in pending:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*pending, return_exceptions=True)
        self.figures.failures["abandoned"] += len(pending) if self.rate is not None else 0
        self.figures.wall_end = self.figures.wall_start + self.seconds
        window_start = self._started + self.warmup
        in_window = [t for t in self._confirmed_at if window_start <= t <= self._end]
        self.figures.confirmed_per_second = len(in_window) / (self.seconds - self.warmup)
        latencies = [1000 * s for _, _, s in self.figures.confirmed_orders]
        self.figures.p50_ms = percentile(latencies, 50)
        self.figures.p99_ms = percentile(latencies, 99)
        if not self.figures.failures["abandoned"]:
            del self.figures.failures["abandoned"]

    async def _worker(self, session: aiohttp.ClientSession) -> None:
        while time.monotonic() < self._end:
            await self._one(session)

    async def _schedule(self, session: aiohttp.ClientSession) -> list[asyncio.Task[None]]:
        assert self.rate is not None
        tasks: list[asyncio.Task[None]] = []
        for n in itertools.count():
            due = self._started + n / self.rate
            if due >= self._end:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._one(session)))
        return tasks

    async def _one(self, session: aiohttp.ClientSession) -> None:
        headers = {
            **self.shop.shoppers[next(self._who)],
            "idempotency-key": str(uuid.uuid4()),
        }
        body = {"items": [{"productId": next(self._what), "quantity": 1}],
                "paymentToken": "tok_visa"}  # fmt: skip
        wall = time.time()
        sent = time.monotonic()
        url = self.shop.gateway_url
        try:
            async with session.post(f"{url}/orders", json=body, headers=headers) as answer:
                if answer.status != 202:
                    self.figures.failures[f"POST {answer.status}"] += 1
                    await answer.read()
                    return
                order_id = str((await answer.json())["orderId"])
            self.figures.placed += 1
            status = await self._poll(session, order_id, headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.figures.failures[type(exc).__name__] += 1
            return
        now = time.monotonic()
        if status == "CONFIRMED":
            self.figures.confirmed += 1
            self._confirmed_at.append(now)
            if sent <= self._end:
                self.figures.confirmed_orders.append((order_id, wall, now - sent))
        elif status == "REJECTED":
            self.figures.rejected += 1
        else:
            self.figures.failures[f"ended {status}"] += 1

    async def _poll(
        self, session: aiohttp.ClientSession, order_id: str, headers: dict[str, str]
    ) -> str:
        url = f"{self.shop.gateway_url}/orders/{order_id}"
        auth = {"authorization": headers["authorization"]}
        sent = time.monotonic()
        while True:
            waited = time.monotonic() - sent
            pause = max(self.poll_seconds, waited * self.poll_fraction)
            await asyncio.sleep(min(MAX_POLL_SECONDS, pause))
            self.figures.polls += 1
            async with session.get(url, headers=auth) as answer:
                if answer.status == 200:
                    status = str((await answer.json())["status"])
                    if status in TERMINAL:
                        return status
                elif answer.status not in (429, 503):
                    await answer.read()
                    return f"GET {answer.status}"
                else:
                    await answer.read()
