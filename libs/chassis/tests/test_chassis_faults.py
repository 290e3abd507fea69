"""Fault injection: each kind through a real app, the admin endpoint, the dependency hooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from bazaar_local.ports import free_port
from chassis import BrokerUnavailable, Database, ServiceSettings, create_service_app
from chassis.faults import (
    INJECTED_FAULT_TYPE,
    FaultInjectionMiddleware,
    Faults,
    FaultState,
    InjectedFault,
    broker_fault_check,
    faults_router,
    install_database_faults,
    upstream_fault_check,
)
from chassis.metrics import ServiceMetrics
from chassis.testing import TestTokens
from chassis.upstream_errors import UpstreamUnavailable


def scripted(*draws: float) -> Iterator[float]:
    return iter(draws)


class Harness:
    def __init__(self, *, draws: Iterator[float] | None = None) -> None:
        self.tokens = TestTokens()
        self.metrics = ServiceMetrics(service="sample")
        self.slept: list[float] = []
        self.handled = 0

        async def sleep(seconds: float) -> None:
            self.slept.append(seconds)

        self.state = FaultState(
            metrics=self.metrics,
            random=(lambda: next(draws)) if draws is not None else None,
            sleep=sleep,
        )
        router = APIRouter()

        @router.get("/things")
        async def things() -> dict[str, str]:
            self.handled += 1
            return {"ok": "yes"}

        self.app: FastAPI = create_service_app(
            ServiceSettings(service_name="sample"),
            title="Sample",
            routers=[router, faults_router()],
            token_verifier=self.tokens.verifier,
        )
        self.app.state.faults = self.state
        self.app.add_middleware(FaultInjectionMiddleware, state=self.state)

    def injected(self, kind: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "bazaar_faults_injected_total", {"kind": kind}
        )
        return value or 0.0

    def admin(self) -> dict[str, str]:
        return self.tokens.headers(roles=["admin"])


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(harness.app):
        transport = httpx.ASGITransport(app=harness.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sample") as c:
            yield c


async def test_no_faults_by_default(harness: Harness, client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await client.get("/things")).status_code == 200
    assert harness.handled == 5
    assert harness.slept == []
    assert harness.state.faults == Faults()
    assert harness.state.dependencies == frozenset()
    harness.state.check("database")  # nothing raised
    assert sum(harness.injected(k) for k in ("latency", "error", "abort", "dependency")) == 0


async def test_latency_delays_then_serves(harness: Harness, client: httpx.AsyncClient) -> None:
    harness.state.set(Faults(latency_ms=250))
    response = await client.get("/things")
    assert response.status_code == 200
    assert harness.slept == [0.25]
    assert harness.handled == 1
    assert harness.injected("latency") == 1


async def test_error_rate_answers_problem_json_with_the_chosen_status() -> None:
    # Draws below the rate fail; the scripted source makes the pattern exact.
    harness = Harness(draws=scripted(0.1, 0.9, 0.3, 0.7))
    harness.state.set(Faults(error_rate=0.5, error_status=503))
    async with LifespanManager(harness.app):
        transport = httpx.ASGITransport(app=harness.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sample") as client:
            responses = [await client.get("/things") for _ in range(4)]
    assert [r.status_code for r in responses] == [503, 200, 503, 200]
    failed = responses[0]
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.headers["retry-after"] == "1"
    assert failed.json()["type"] == INJECTED_FAULT_TYPE
    assert harness.handled == 2  # the failed ones did no work
    assert harness.injected("error") == 2


async def test_health_and_admin_paths_are_exempt(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    harness.state.set(Faults(error_rate=1.0, latency_ms=100))
    assert (await client.get("/things")).status_code == 500
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/admin/faults", headers=harness.admin())).status_code == 200
    assert harness.slept == [0.1]  # only /things was delayed


async def test_admin_endpoint_needs_an_admin(harness: Harness, client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/faults")).status_code == 401
    user = harness.tokens.headers()
    assert (await client.put("/admin/faults", json={}, headers=user)).status_code == 403
    assert (await client.delete("/admin/faults", headers=user)).status_code == 403
    assert harness.state.faults == Faults()


@pytest.mark.parametrize(
    "body",
    [
        {"errorRate": 1.5},
        {"abortRate": -0.1},
        {"errorStatus": 302},
        {"latencyMs": 600_000},
        {"dependencies": ["Not A Name"]},
        {"dependencies": "database"},
        {"latencyMs": 10, "surprise": True},
    ],
)
async def test_admin_endpoint_rejects_bad_settings(
    harness: Harness, client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await client.put("/admin/faults", json=body, headers=harness.admin())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert harness.state.faults == Faults()


async def test_admin_endpoint_sets_shows_and_clears(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    wanted = {
        "latencyMs": 20,
        "errorRate": 0.25,
        "errorStatus": 502,
        "abortRate": 0.1,
        "dependencies": ["database", "broker"],
    }
    response = await client.put("/admin/faults", json=wanted, headers=harness.admin())
    assert response.status_code == 200
    shown = {**wanted, "dependencies": ["broker", "database"]}
    assert response.json() == shown
    assert (await client.get("/admin/faults", headers=harness.admin())).json() == shown
    assert harness.state.dependencies == {"database", "broker"}
    assert harness.state.error_status == 502

    assert (await client.delete("/admin/faults", headers=harness.admin())).status_code == 204
    cleared = (await client.get("/admin/faults", headers=harness.admin())).json()
    assert cleared == {
        "latencyMs": 0,
        "errorRate": 0.0,
        "errorStatus": 500,
        "abortRate": 0.0,
        "dependencies": [],
    }


async def test_admin_endpoint_without_a_fault_state_is_not_found() -> None:
    tokens = TestTokens()
    app = create_service_app(
        ServiceSettings(service_name="sample"),
        title="Sample",
        routers=[faults_router()],
        token_verifier=tokens.verifier,
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sample") as client:
            response = await client.get("/admin/faults", headers=tokens.headers(roles=["admin"]))
    assert response.status_code == 404


async def test_abort_drops_the_connection_without_a_response(harness: Harness) -> None:
    port = free_port()
    config = uvicorn.Config(
        harness.app, host="127.0.0.1", port=port, http="httptools", log_config=None
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the server did not start"
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            harness.state.set(Faults(abort_rate=1.0))
            with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
                await client.get("/things")
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/things", content=b"x" * 100_000)
            harness.state.clear()
            assert (await client.get("/things")).status_code == 200
    finally:
        server.should_exit = True
        await serving
    assert harness.handled == 1
    assert harness.injected("abort") == 2


def test_check_raises_a_connection_error_for_faulted_dependencies() -> None:
    metrics = ServiceMetrics(service="sample")
    state = FaultState(metrics=metrics)
    state.set(Faults(dependencies=frozenset({"database"})))
    with pytest.raises(ConnectionError, match="database") as raised:
        state.check("database")
    assert isinstance(raised.value, InjectedFault)
    assert raised.value.dependency == "database"
    state.check("broker")  # not faulted
    assert (
        metrics.registry.get_sample_value("bazaar_faults_injected_total", {"kind": "dependency"})
        == 1
    )


def test_broker_and_upstream_hooks_raise_what_callers_already_handle() -> None:
    state = FaultState()
    broker_fault_check(None)
    upstream_fault_check(None, "products")
    broker_fault_check(state)
    upstream_fault_check(state, "products")
    state.set(Faults(dependencies=frozenset({"broker", "products"})))
    with pytest.raises(BrokerUnavailable):
        broker_fault_check(state)
    with pytest.raises(UpstreamUnavailable) as raised:
        upstream_fault_check(state, "products")
    assert raised.value.upstream == "products"
    assert isinstance(raised.value, OSError)  # also caught as a connection failure
    upstream_fault_check(state, "payments")


@pytest.mark.integration
async def test_database_hook_fails_transactions_while_faulted(
    tmp_path: Path, database_url: str
) -> None:
    database = Database(database_url, pool_size=1, max_overflow=0)
    state = FaultState()
    install_database_faults(database, state)
    install_database_faults(database, None)  # fault injection off: nothing installed
    try:
        await database.ping()
        state.set(Faults(dependencies=frozenset({"database"})))
        with pytest.raises(ConnectionError):
            async with database.transaction() as session:
                await session.execute(text("SELECT 1"))
        with pytest.raises(InjectedFault):
            await database.ping()
        state.clear()
        # The one pooled connection came back unharmed.
        async with database.transaction() as session:
            assert await session.scalar(text("SELECT 41 + 1")) == 42
    finally:
        await database.dispose()
