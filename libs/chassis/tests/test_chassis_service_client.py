"""ServiceClient against a real local aiohttp server that can be told to fail or hang.

Nothing is mocked: the server counts every request it really receives, so "no request reached
the upstream" and "attempts stayed within the retry budget" are read from its counter.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web
from starlette.types import Receive, Scope, Send
from structlog.testing import capture_logs

from chassis import ServiceSettings
from chassis.bulkhead import BulkheadFull
from chassis.circuit_breaker import CircuitOpen
from chassis.deadlines import DeadlineMiddleware, deadline_var, set_deadline
from chassis.http_client import (
    ServiceClient,
    UpstreamDeadlineExceeded,
    UpstreamPolicy,
    UpstreamUnavailable,
)
from chassis.metrics import ServiceMetrics
from chassis.request_ids import request_id_var
from chassis.resilience_settings import ResilienceSettings

# Tiny backoff so retries cost no noticeable time; no retries unless a test asks for them.
MakeClient = Callable[..., ServiceClient]
FAST = UpstreamPolicy(backoff_base_seconds=0.001, backoff_cap_seconds=0.005)


@dataclass
class Upstream:
    """A fake upstream: answers ``status`` (after failing ``failures`` times), or hangs."""

    status: int = 200
    failure_status: int = 503
    failures: int = 0  # the next N requests fail with failure_status; -1: all of them
    hang: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0
    seen: list[tuple[str, str, Mapping[str, str]]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        self.seen.append((request.method, request.path, request.headers.copy()))
        self.arrived.set()
        if self.hang:
            await self.release.wait()
        if self.failures != 0:
            self.failures -= 1 if self.failures > 0 else 0
            return web.json_response(
                {"title": "failing"}, status=self.failure_status, headers=self.headers
            )
        return web.json_response({"ok": True, "path": request.path}, status=self.status)

    def deadline_seen(self, index: int = -1) -> int:
        return int(self.seen[index][2]["X-Request-Deadline-Ms"])


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    fake = Upstream()
    yield fake
    fake.release.set()


@pytest.fixture
async def upstream_url(upstream: Upstream) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", upstream.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # a free port chosen by the OS
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        upstream.release.set()
        await runner.cleanup()


@pytest.fixture
def refused_url() -> Iterator[str]:
    with socket.socket() as sock:  # bound, never listening: connecting is refused
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def metrics() -> ServiceMetrics:
    return ServiceMetrics(service="tests")


@pytest.fixture
async def make_client(upstream_url: str, metrics: ServiceMetrics) -> AsyncIterator[MakeClient]:
    clients: list[ServiceClient] = []

    def make(
        policy: UpstreamPolicy = FAST, *, timeout: float = 2.0, url: str = ""
    ) -> ServiceClient:
        client = ServiceClient(
            "up", url or upstream_url, timeout_seconds=timeout, policy=policy, metrics=metrics
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def _policy(**changes: float) -> UpstreamPolicy:
    return UpstreamPolicy(**{**FAST.__dict__, **changes})  # type: ignore[arg-type]


def _count(metrics: ServiceMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, {"upstream": "up", **labels}) or 0.0


def _attempts(metrics: ServiceMetrics, outcome: str) -> float:
    return _count(metrics, "bazaar_upstream_requests_total", outcome=outcome)


# --- retries only where safe ---------------------------------------------------------------


async def test_a_get_is_retried_until_it_succeeds(
    upstream: Upstream, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    upstream.failures = 2

    with capture_logs() as logs:
        response = await make_client().get("/things")

    assert response.status == 200
    assert upstream.hits == 3
    retries = [e for e in logs if e["event"] == "upstream_retry"]
    assert [(e["upstream"], e["attempt"]) for e in retries] == [("up", 2), ("up", 3)]
    assert all(0 <= e["delay"] <= 0.005 for e in retries)
    assert _attempts(metrics, "error") == 2
    assert _attempts(metrics, "ok") == 1
    assert _count(metrics, "bazaar_upstream_retries_total") == 2


async def test_exhausted_retries_return_the_last_5xx_response(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.failures, upstream.failure_status = -1, 500

    response = await make_client().get("/things")

    assert response.status == 500
    assert response.json() == {"title": "failing"}
    assert upstream.hits == 3  # max_attempts


@pytest.mark.parametrize(
    ("kwargs", "expected_hits"),
    [
        ({}, 1),
        ({"idempotent": True}, 3),
        ({"headers": {"Idempotency-Key": "order-1"}}, 3),
    ],
    ids=["plain-post", "idempotent-post", "keyed-post"],
)
async def test_a_post_is_retried_only_when_declared_safe(
    upstream: Upstream, make_client: MakeClient, kwargs: dict[str, object], expected_hits: int
) -> None:
    upstream.failures = -1

    response = await make_client().post("/payments", json={"orderId": "1"}, **kwargs)

    assert response.status == 503
    assert upstream.hits == expected_hits
    assert all(method == "POST" for method, _, _ in upstream.seen)


async def test_a_get_marked_not_idempotent_is_not_retried(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.failures = -1

    await make_client().get("/things", idempotent=False)

    assert upstream.hits == 1


async def test_client_errors_are_not_retried_and_do_not_open_the_breaker(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.status = 404
    client = make_client(_policy(min_calls=4))

    for _ in range(10):
        assert (await client.get("/missing")).status == 404

    assert upstream.hits == 10
    assert client.breaker.state == "closed"


async def test_a_429_is_retried_after_the_servers_retry_after(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.failures, upstream.failure_status = 1, 429
    upstream.headers = {"Retry-After": "0"}

    response = await make_client().get("/things")

    assert response.status == 200
    assert upstream.hits == 2


async def test_a_retry_after_beyond_the_cap_is_not_retried_early(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.failures, upstream.failure_status = -1, 503
    upstream.headers = {"Retry-After": "120"}

    response = await make_client().get("/things")

    assert response.status == 503
    assert response.headers["Retry-After"] == "120"
    assert upstream.hits == 1


async def test_timeouts_are_retried_then_raise_unavailable(
    upstream: Upstream, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    upstream.hang = True

    with pytest.raises(UpstreamUnavailable, match="timed out"):
        await make_client(timeout=0.1).get("/slow")

    assert upstream.hits == 3
    assert _attempts(metrics, "timeout") == 3


async def test_connection_refused_is_retried_then_raises_unavailable(
    refused_url: str, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    with pytest.raises(UpstreamUnavailable, match="failed"):
        await make_client(url=refused_url).get("/things")

    assert _attempts(metrics, "error") == 3
    assert _count(metrics, "bazaar_upstream_retries_total") == 2


async def test_the_request_id_is_still_sent(upstream: Upstream, make_client: MakeClient) -> None:
    token = request_id_var.set("req-123")
    try:
        await make_client().get("/things")
    finally:
        request_id_var.reset(token)

    assert upstream.seen[0][2]["X-Request-ID"] == "req-123"


# --- circuit breaker ------------------------------------------------------------------------


async def test_the_breaker_opens_after_failures_then_fails_fast_without_the_network(
    upstream: Upstream, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    upstream.failures = -1
    client = make_client(_policy(min_calls=4, max_attempts=1, open_seconds=60))
    for _ in range(4):
        assert (await client.get("/things")).status == 503
    assert client.breaker.state == "open"

    for _ in range(20):
        with pytest.raises(CircuitOpen):
            await client.get("/things")
        with pytest.raises(CircuitOpen):
            await client.post("/elsewhere", idempotent=True)

    assert upstream.hits == 4  # not one of the 40 calls reached the server
    assert _attempts(metrics, "rejected_open") == 40
    assert _count(metrics, "bazaar_circuit_breaker_state") == 2


async def test_every_attempt_of_a_retried_call_counts_toward_the_breaker(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.failures = -1
    client = make_client(_policy(min_calls=6, max_attempts=3, open_seconds=60))

    await client.get("/a")  # three failed attempts
    assert client.breaker.state == "closed"
    await client.get("/b")  # six

    assert client.breaker.state == "open"
    assert upstream.hits == 6


async def _until_it_reaches_the_server(client: ServiceClient, upstream: Upstream) -> int:
    """Calls until one gets through the breaker; returns how many were refused meanwhile."""
    refused, hits = 0, upstream.hits
    async with asyncio.timeout(10):
        while upstream.hits == hits:
            try:
                await client.get("/probe")
            except CircuitOpen:
                refused += 1
                await asyncio.sleep(0.02)  # poll interval while waiting for half-open
    return refused


async def test_after_open_seconds_a_probe_goes_through_and_success_closes_it(
    upstream: Upstream, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    upstream.failures = -1
    client = make_client(_policy(min_calls=2, max_attempts=1, open_seconds=0.2))
    for _ in range(2):
        await client.get("/things")
    assert client.breaker.state == "open"
    hits_when_opened = upstream.hits
    upstream.failures = 0  # the upstream recovers

    await _until_it_reaches_the_server(client, upstream)

    assert upstream.hits == hits_when_opened + 1  # exactly one probe
    assert client.breaker.state == "closed"
    assert (await client.get("/things")).status == 200
    for state in ("open", "half_open", "closed"):
        assert _count(metrics, "bazaar_circuit_breaker_transitions_total", to_state=state) == 1


async def test_a_failing_probe_opens_it_again(upstream: Upstream, make_client: MakeClient) -> None:
    upstream.failures = -1
    client = make_client(_policy(min_calls=2, max_attempts=1, open_seconds=0.2))
    for _ in range(2):
        await client.get("/things")

    await _until_it_reaches_the_server(client, upstream)

    assert client.breaker.state == "open"
    with pytest.raises(CircuitOpen):
        await client.get("/things")
    assert upstream.hits == 3


async def test_a_full_bulkhead_refuses_at_once(
    upstream: Upstream, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    upstream.hang = True
    client = make_client(_policy(max_concurrent=1), timeout=5.0)
    first = asyncio.create_task(client.get("/slow"))
    async with asyncio.timeout(5):
        await upstream.arrived.wait()

    with pytest.raises(BulkheadFull):
        await client.get("/other")

    assert upstream.hits == 1
    assert _attempts(metrics, "rejected_bulkhead") == 1
    upstream.release.set()
    assert (await first).status == 200


# --- retry budget: no retry storm ------------------------------------------------------------


async def test_with_the_upstream_down_attempts_stay_within_the_retry_budget(
    upstream: Upstream, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    upstream.failures = -1
    # The breaker is kept out of the way (huge min_calls) so the budget alone is measured.
    client = make_client(
        _policy(
            min_calls=1_000_000, budget_ratio=0.2, budget_min_per_second=0.5, max_concurrent=500
        )
    )
    calls = 200
    started = time.monotonic()

    with capture_logs() as logs:
        answers = await asyncio.gather(*(client.get(f"/item/{i}") for i in range(calls)))

    elapsed = time.monotonic() - started
    assert all(a.status == 503 for a in answers)
    retries = _count(metrics, "bazaar_upstream_retries_total")
    # Per window of 10 s: 20% of the calls plus the reserve (0.5/s * 10 s).
    allowed = calls * 0.2 + client.budget.reserve * (1 + elapsed // 10) + 1
    assert upstream.hits == calls + retries  # the counters agree with the server
    assert upstream.hits <= calls + allowed  # ~240, not the 600 of unbudgeted retries
    assert retries >= calls * 0.2 - 1  # the budget's share was really used
    denied = _count(metrics, "bazaar_upstream_retries_denied_total")
    assert denied > 0
    assert sum(e["event"] == "retry_denied" for e in logs) == denied


async def test_with_the_upstream_unreachable_attempts_stay_within_the_budget_too(
    refused_url: str, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    client = make_client(
        _policy(min_calls=1_000_000, budget_ratio=0.2, budget_min_per_second=0.0),
        url=refused_url,
    )

    for _ in range(100):
        with pytest.raises(UpstreamUnavailable):
            await client.get("/things")

    attempts = _attempts(metrics, "error")
    assert attempts <= 100 + 0.2 * 100 + 1
    assert attempts >= 100 + 0.2 * 100 - 1


# --- deadlines ----------------------------------------------------------------------------


async def test_without_a_deadline_the_timeout_is_sent_as_the_budget(
    upstream: Upstream, make_client: MakeClient
) -> None:
    await make_client(timeout=2.0).get("/things")

    assert upstream.deadline_seen() == 2000


async def test_the_remaining_deadline_is_sent_and_shrinks(
    upstream: Upstream, make_client: MakeClient
) -> None:
    client = make_client(timeout=30.0)
    token = set_deadline(1.5)
    try:
        await client.get("/first")
        await client.get("/second")
    finally:
        deadline_var.reset(token)

    first, second = upstream.deadline_seen(0), upstream.deadline_seen(1)
    assert 0 < second <= first < 1500


async def test_a_service_forwards_less_than_it_was_given(
    upstream: Upstream, make_client: MakeClient
) -> None:
    client = make_client(timeout=30.0)

    async def middle(scope: Scope, receive: Receive, send: Send) -> None:
        await client.get("/next-hop")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = DeadlineMiddleware(middle, default_seconds=5.0, max_seconds=10.0, metrics=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://middle") as http:
        await http.get("/", headers={"X-Request-Deadline-Ms": "800"})
        await http.get("/")

    assert 0 < upstream.deadline_seen(0) < 800
    assert 800 < upstream.deadline_seen(1) < 5000


async def test_a_deadline_shorter_than_the_timeout_bounds_the_call(
    upstream: Upstream, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    upstream.hang = True
    client = make_client(_policy(min_calls=1), timeout=30.0)
    token = set_deadline(0.2)
    try:
        with pytest.raises(UpstreamDeadlineExceeded, match="deadline"):
            await client.get("/slow")
    finally:
        deadline_var.reset(token)

    assert upstream.hits == 1  # no time was left for a retry
    assert upstream.deadline_seen() <= 200
    assert _attempts(metrics, "deadline") == 1
    assert client.breaker.state == "closed"  # our deadline is not the upstream's failure


async def test_a_passed_deadline_sends_nothing(
    upstream: Upstream, make_client: MakeClient, metrics: ServiceMetrics
) -> None:
    token = set_deadline(0.0)
    try:
        with pytest.raises(UpstreamDeadlineExceeded):
            await make_client().get("/things")
    finally:
        deadline_var.reset(token)

    assert upstream.hits == 0
    assert _attempts(metrics, "deadline") == 1


# --- configuration --------------------------------------------------------------------------


def test_the_policy_comes_from_the_resilience_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREAKER_FAILURE_RATIO", "0.25")
    monkeypatch.setenv("BREAKER_WINDOW_SECONDS", "5")
    monkeypatch.setenv("BREAKER_MIN_CALLS", "3")
    monkeypatch.setenv("BREAKER_OPEN_SECONDS", "0.5")
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("RETRY_BUDGET_RATIO", "0.1")
    monkeypatch.setenv("BULKHEAD_MAX_CONCURRENT", "8")

    policy = UpstreamPolicy.from_settings(ResilienceSettings())

    assert (policy.failure_ratio, policy.window_seconds, policy.min_calls) == (0.25, 5.0, 3)
    assert (policy.open_seconds, policy.max_attempts, policy.budget_ratio) == (0.5, 2, 0.1)
    assert policy.max_concurrent == 8


def test_resilience_settings_defaults_are_the_reference_designs() -> None:
    settings = ResilienceSettings()

    assert settings.breaker_failure_ratio == 0.5
    assert settings.breaker_window_seconds == 10
    assert settings.breaker_min_calls == 10
    assert settings.breaker_open_seconds == 30
    assert settings.retry_max_attempts == 3
    assert settings.retry_budget_ratio == 0.2
    assert settings.bulkhead_max_concurrent == 64
    server = ServiceSettings(service_name="any")
    assert server.request_deadline_seconds == 10
    assert server.max_inflight_requests == 256
    assert server.max_queue_seconds == 0.1
    assert server.fault_injection_enabled is False
