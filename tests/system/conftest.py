"""The whole shop, started once per session the way `bazaar up` starts it, on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bazaar_local.chaos import Chaos
from bazaar_local.system import System, SystemConfig
from bazaar_local.system_config import ALL_SERVICES
from bazaar_local.testing import make_shared_temp_dir
from chassis import TokenSigner, load_private_key


@dataclass
class Shopper:
    email: str
    password: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@contextlib.contextmanager
def running_system(prefix: str, **config: Any) -> Iterator[System]:
    """A whole system on free ports in a temp folder, stopped and removed afterwards."""
    data_dir = make_shared_temp_dir(prefix)
    system = System(SystemConfig.with_free_ports(data_dir, fast_postgres=True, **config))
    try:
        system.start()
        yield system
    finally:
        system.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def shop() -> Iterator[System]:
    with running_system("bazaar-system-") as system:
        yield system


@pytest.fixture(scope="session")
def gateway(shop: System) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def signer(shop: System) -> TokenSigner:
    """Signs with the shop's real key: for tokens the API would never hand out (expired)."""
    return TokenSigner(
        load_private_key(shop.config.signing_key_file), issuer="bazaar-users", audience="bazaar"
    )


Register = Callable[[], Shopper]


def _register(gateway: httpx.Client) -> Shopper:
    email = f"shopper-{uuid.uuid4().hex[:12]}@example.com"
    password = "a long enough password"
    created = gateway.post("/users", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    login = gateway.post("/auth/token", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return Shopper(email, password, created.json()["userId"], login.json()["accessToken"])


@pytest.fixture(scope="session")
def register(gateway: httpx.Client) -> Register:
    """Registers a new shopper and logs them in."""
    return lambda: _register(gateway)


@pytest.fixture
def shopper(register: Register) -> Shopper:
    return register()


@pytest.fixture(scope="session")
def admin(shop: System, gateway: httpx.Client) -> dict[str, str]:
    login = gateway.post(
        "/auth/token", json={"email": shop.admin_email, "password": shop.admin_password}
    )
    assert login.status_code == 200, login.text
    return {"authorization": f"Bearer {login.json()['accessToken']}"}


@pytest.fixture
def make_product(gateway: httpx.Client, admin: dict[str, str]):  # type: ignore[no-untyped-def]
    def make(inventory: int, price: str = "12.50") -> str:
        sku = f"TEST-{uuid.uuid4().hex[:10]}"
        created = gateway.post(
            "/products",
            json={"sku": sku, "name": f"Test {sku}", "price": price, "inventory": inventory},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        return str(created.json()["productId"])

    return make


TERMINAL = {"CONFIRMED", "REJECTED", "CANCELLED"}
POLL_SECONDS = 0.1  # how often a condition-wait looks again


class Ledgers:
    """Reads each service's own database directly: the books the acceptance criteria balance."""

    def __init__(self, shop: System) -> None:
        self.urls = {
            name: url.replace("postgresql+asyncpg://", "postgresql://")
            for name, url in shop.database_urls.items()
        }

    async def rows(self, service: str, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.urls[service])
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def unpublished(self) -> int:
        total = 0
        for service in ("orders", "products", "payments"):
            rows = await self.rows(
                service, "SELECT count(*) FROM outbox WHERE published_at IS NULL "
                "AND quarantined IS NULL",
            )  # fmt: skip
            total += rows[0][0]
        return total

    async def stock_moves(self, order_ids: list[uuid.UUID]) -> dict[str, int]:
        """reserved - released, per product, over these orders."""
        rows = await self.rows(
            "products",
            "SELECT l.product_id::text, sum(CASE WHEN r.status = 'RELEASED' THEN 0 "
            "ELSE l.quantity END) FROM reservation_lines l JOIN reservations r USING (order_id) "
            "WHERE l.order_id = ANY($1::uuid[]) GROUP BY l.product_id",
            order_ids,
        )
        return {product: int(held) for product, held in rows if held}

    async def money_moves(self, order_ids: list[uuid.UUID]) -> Decimal:
        """captured - refunded over these orders."""
        rows = await self.rows(
            "payments",
            "SELECT coalesce(sum(CASE o.kind WHEN 'CAPTURE' THEN o.amount "
            "WHEN 'REFUND' THEN -o.amount ELSE 0 END), 0) FROM payment_operations o "
            "JOIN payments p USING (payment_id) WHERE p.order_id = ANY($1::uuid[])",
            order_ids,
        )
        return Decimal(rows[0][0])

    async def captured_orders(self, order_ids: list[uuid.UUID]) -> set[str]:
        rows = await self.rows(
            "payments",
            "SELECT DISTINCT p.order_id::text FROM payment_operations o JOIN payments p "
            "USING (payment_id) WHERE o.kind = 'CAPTURE' AND p.order_id = ANY($1::uuid[])",
            order_ids,
        )
        return {r[0] for r in rows}

    async def notifications_per_order(self, order_ids: list[uuid.UUID]) -> dict[str, list[str]]:
        rows = await self.rows(
            "notifications",
            "SELECT order_id::text, kind FROM notifications WHERE order_id = ANY($1::uuid[]) "
            "ORDER BY created_at",
            order_ids,
        )
        found: dict[str, list[str]] = {}
        for order_id, kind in rows:
            found.setdefault(order_id, []).append(kind)
        return found


@pytest.fixture(scope="session")
def ledgers(shop: System) -> Ledgers:
    return Ledgers(shop)


async def _consumers_drained(nats_url: str) -> bool:
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        for stream, consumer in (("BAZAAR_ORDERS", "notifications"),):
            info = await js.consumer_info(stream, consumer)
            if info.num_pending or info.num_ack_pending:
                return False
        return True
    finally:
        await connection.close()


class Driver:
    """Drives many orders at once through the gateway and waits for the system to settle."""

    def __init__(self, shop: System, ledgers: Ledgers) -> None:
        self.shop = shop
        self.ledgers = ledgers

    async def quiesce(self, *, seconds: float = 60.0) -> None:
        """Waits until every outbox is published and every consumer has caught up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if await self.ledgers.unpublished() == 0 and await _consumers_drained(
                self.shop.nats_url
            ):
                return
            await asyncio.sleep(POLL_SECONDS)
        raise AssertionError("the system did not quiesce in time")

    async def eventually(
        self, check: Callable[[], Awaitable[bool]], *, seconds: float = 60.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + seconds
        while not await check():
            assert time.monotonic() < deadline, f"not met in {seconds}s: {what}"
            await asyncio.sleep(POLL_SECONDS)

    async def place(
        self,
        bodies: list[tuple[Shopper, dict[str, object]]],
        headers: dict[str, str] | None = None,
    ) -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(
            base_url=self.shop.gateway_url, timeout=60, limits=limits
        ) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post("/orders", json=b, headers={**who.headers, **(headers or {})})
                        for who, b in bodies
                    )
                )
            )

    async def wait_terminal(
        self, orders: list[tuple[Shopper, str]], *, seconds: float = 120.0
    ) -> dict[str, dict[str, object]]:
        """Polls every order through the gateway until each is terminal."""
        return await _wait_terminal(self.shop, orders, seconds)


@pytest.fixture(scope="session")
def driver(shop: System, ledgers: Ledgers) -> Driver:
    return Driver(shop, ledgers)


async def _wait_terminal(
    shop: System, orders: list[tuple[Shopper, str]], seconds: float
) -> dict[str, dict[str, object]]:
    done: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=shop.gateway_url, timeout=30) as client:
        while len(done) < len(orders):
            assert time.monotonic() < deadline, f"{len(orders) - len(done)} orders not terminal"
            pending = [(who, oid) for who, oid in orders if oid not in done]
            answers = await asyncio.gather(
                *(client.get(f"/orders/{oid}", headers=who.headers) for who, oid in pending[:64]),
                return_exceptions=True,
            )
            for (_, oid), answer in zip(pending[:64], answers, strict=True):
                if (
                    isinstance(answer, httpx.Response)
                    and answer.status_code == 200
                    and answer.json()["status"] in TERMINAL
                ):
                    done[oid] = answer.json()
            if len(done) < len(orders):
                await asyncio.sleep(POLL_SECONDS)
    return done


# -- resilience (issue 4): one more system, tuned so breakers, limits and shedding show quickly --

# Short breaker windows, fault injection everywhere, a tight gateway deadline, one tightly
# rate-limited route, and a notifications service that admits only a few requests at once.
GATEWAY_DEADLINE_SECONDS = 3.0
LIMITED_ROUTE = "GET /notifications"
LIMITED_BURST = 3
NOTIFICATIONS_MAX_INFLIGHT = 4
RESILIENCE_ENV: dict[str, dict[str, str]] = {
    ALL_SERVICES: {
        "FAULT_INJECTION_ENABLED": "true",
        "BREAKER_FAILURE_RATIO": "0.5",
        "BREAKER_MIN_CALLS": "5",
        "BREAKER_WINDOW_SECONDS": "5",
        "BREAKER_OPEN_SECONDS": "2",
        "SHUTDOWN_GRACE_SECONDS": "5",
    },
    "gateway": {
        "REQUEST_DEADLINE_SECONDS": str(GATEWAY_DEADLINE_SECONDS),
        "RATE_LIMITS": json.dumps(
            {
                "default": {"rate": 10_000, "burst": 10_000},
                "POST /users": {"rate": 10_000, "burst": 10_000},
                "POST /auth/token": {"rate": 10_000, "burst": 10_000},
                LIMITED_ROUTE: {"rate": 0.2, "burst": LIMITED_BURST},
            }
        ),
    },
    "notifications": {
        "MAX_INFLIGHT_REQUESTS": str(NOTIFICATIONS_MAX_INFLIGHT),
        "MAX_QUEUE_SECONDS": "0.02",
    },
}


@pytest.fixture(scope="session")
def resilient_shop() -> Iterator[System]:
    """The shop as `bazaar up` runs it, with `RESILIENCE_ENV` on top: one for all resilience
    tests (each `chaos` user leaves it without faults and with every service running)."""
    with running_system("bazaar-resilience-", extra_env=RESILIENCE_ENV, stop_grace=20.0) as system:
        yield system


@pytest.fixture(scope="session")
def resilient_gateway(resilient_shop: System) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=resilient_shop.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def resilient_register(resilient_gateway: httpx.Client) -> Register:
    return lambda: _register(resilient_gateway)


@pytest.fixture(scope="session")
def resilient_admin(resilient_shop: System, resilient_gateway: httpx.Client) -> dict[str, str]:
    login = resilient_gateway.post(
        "/auth/token",
        json={"email": resilient_shop.admin_email, "password": resilient_shop.admin_password},
    )
    assert login.status_code == 200, login.text
    return {"authorization": f"Bearer {login.json()['accessToken']}"}


@pytest.fixture
def resilient_product(
    resilient_gateway: httpx.Client, resilient_admin: dict[str, str]
) -> Callable[..., str]:
    def make(inventory: int = 100, price: str = "4.00") -> str:
        sku = f"RES-{uuid.uuid4().hex[:10]}"
        created = resilient_gateway.post(
            "/products",
            json={"sku": sku, "name": f"Resilience {sku}", "price": price, "inventory": inventory},
            headers=resilient_admin,
        )
        assert created.status_code == 201, created.text
        return str(created.json()["productId"])

    return make


@pytest.fixture(scope="session")
def resilient_ledgers(resilient_shop: System) -> Ledgers:
    return Ledgers(resilient_shop)


@pytest.fixture(scope="session")
def resilient_driver(resilient_shop: System, resilient_ledgers: Ledgers) -> Driver:
    return Driver(resilient_shop, resilient_ledgers)


@pytest.fixture
def chaos(resilient_shop: System) -> Iterator[Chaos]:
    """Sets faults on the resilient shop's services (as `bazaar chaos` does). Afterwards every
    fault is cleared and a service a test stopped is started again."""
    chaos = Chaos.for_config(resilient_shop.config)
    try:
        yield chaos
    finally:
        for spec in resilient_shop.config.services:
            process = resilient_shop.processes.get(spec.name)
            if process is None or process.poll() is not None:
                resilient_shop.restart_service(spec.name)
        chaos.clear_all()


class Samples:
    """One scrape of a `/metrics` page (Prometheus text format)."""

    def __init__(self, text: str) -> None:
        self.samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def named(self, name: str) -> list[Any]:
        """Every sample called `name` (each has `labels` and `value`)."""
        return [s for s in self.samples if s.name == name]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )


class Metrics:
    """Reads each service's own `/metrics` (and the gateway's), on its port."""

    def __init__(self, shop: System) -> None:
        self.urls = shop.urls()

    def read(self, service: str) -> Samples:
        answer = httpx.get(f"{self.urls[service]}/metrics", timeout=10)
        assert answer.status_code == 200, f"{service} /metrics: {answer.status_code}"
        return Samples(answer.text)

    async def aread(self, service: str) -> Samples:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(f"{self.urls[service]}/metrics")
        assert answer.status_code == 200, f"{service} /metrics: {answer.status_code}"
        return Samples(answer.text)


@pytest.fixture(scope="session")
def metrics(resilient_shop: System) -> Metrics:
    return Metrics(resilient_shop)


@pytest.fixture(scope="session")
def shop_metrics(shop: System) -> Metrics:
    return Metrics(shop)


@dataclass(frozen=True)
class ResilienceKnobs:
    """What `RESILIENCE_ENV` and the chassis defaults set, for the tests' arithmetic."""

    gateway_deadline_seconds: float = GATEWAY_DEADLINE_SECONDS
    limited_route: str = LIMITED_ROUTE
    limited_burst: int = LIMITED_BURST
    notifications_max_inflight: int = NOTIFICATIONS_MAX_INFLIGHT
    # chassis.retry.RetryBudget as ServiceClient builds it: ratio (RETRY_BUDGET_RATIO), the
    # floor rate, and the tokens it starts with (10 s of the floor).
    retry_budget_ratio: float = 0.2
    retry_floor_per_second: float = 5.0
    retry_banked_tokens: float = 50.0


@pytest.fixture(scope="session")
def knobs() -> ResilienceKnobs:
    return ResilienceKnobs()
