"""Deadlines: the context variable and header helpers, and DeadlineMiddleware on a real app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from starlette.types import Message, Receive, Scope, Send

from chassis.deadlines import (
    DEADLINE_EXCEEDED_TYPE,
    DeadlineMiddleware,
    call_budget,
    deadline_var,
    header_value,
    outbound_header_value,
    parse_header,
    remaining,
    set_deadline,
)
from chassis.errors import PROBLEM_JSON
from chassis.metrics import ServiceMetrics


class App:
    """An ASGI app that reports the deadline it runs under, or hangs until cancelled."""

    def __init__(self) -> None:
        self.calls = 0
        self.cancelled = False
        self.hang = False
        self.seen_remaining: float | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        self.seen_remaining = remaining()
        if self.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        body = orjson.dumps({"remaining": self.seen_remaining})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def metrics() -> ServiceMetrics:
    return ServiceMetrics(service="tests")


@pytest.fixture
async def http(app: App, metrics: ServiceMetrics) -> AsyncIterator[httpx.AsyncClient]:
    wrapped = DeadlineMiddleware(app, default_seconds=2.0, max_seconds=5.0, metrics=metrics)
    transport = httpx.ASGITransport(app=wrapped)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        yield client


def _shed(metrics: ServiceMetrics) -> float | None:
    return metrics.registry.get_sample_value("bazaar_requests_shed_total", {"reason": "deadline"})


@pytest.mark.parametrize("header", ["0", "-250"])
async def test_a_spent_budget_is_answered_504_without_running_the_app(
    http: httpx.AsyncClient, app: App, metrics: ServiceMetrics, header: str
) -> None:
    response = await http.post("/orders", headers={"X-Request-Deadline-Ms": header})

    assert response.status_code == 504
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == DEADLINE_EXCEEDED_TYPE
    assert app.calls == 0
    assert _shed(metrics) == 1


async def test_a_handler_still_running_at_the_deadline_is_cut_with_504(
    http: httpx.AsyncClient, app: App, metrics: ServiceMetrics
) -> None:
    app.hang = True

    response = await http.get("/slow", headers={"X-Request-Deadline-Ms": "50"})

    assert response.status_code == 504
    assert response.json()["title"] == "Deadline exceeded"
    assert "deadline passed" in response.json()["detail"]
    assert app.cancelled  # the work was stopped, not left running
    assert _shed(metrics) is None  # it was admitted; cutting it is not shedding


async def test_the_handler_runs_under_the_callers_deadline(
    http: httpx.AsyncClient, app: App
) -> None:
    await http.get("/", headers={"X-Request-Deadline-Ms": "1500"})

    assert app.seen_remaining is not None
    assert 0 < app.seen_remaining < 1.5


@pytest.mark.parametrize("header", [None, "soon", ""])
async def test_without_a_readable_header_the_default_budget_applies(
    http: httpx.AsyncClient, app: App, header: str | None
) -> None:
    headers = {} if header is None else {"X-Request-Deadline-Ms": header}

    response = await http.get("/", headers=headers)

    assert response.status_code == 200
    assert app.seen_remaining is not None
    assert 0 < app.seen_remaining <= 2.0


async def test_a_caller_cannot_ask_for_more_than_the_maximum(
    http: httpx.AsyncClient, app: App
) -> None:
    await http.get("/", headers={"X-Request-Deadline-Ms": "3600000"})

    assert app.seen_remaining is not None
    assert 0 < app.seen_remaining <= 5.0


async def test_the_deadline_does_not_outlive_the_request(http: httpx.AsyncClient) -> None:
    await http.get("/", headers={"X-Request-Deadline-Ms": "1000"})

    assert deadline_var.get() is None


async def test_a_timeout_error_of_the_apps_own_is_not_turned_into_504() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise TimeoutError("the database was slow")

    middleware = DeadlineMiddleware(failing, default_seconds=5.0, max_seconds=5.0, metrics=None)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    with pytest.raises(TimeoutError, match="database"):
        await middleware({"type": "http", "headers": []}, receive, send)
    assert sent == []


async def test_other_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        assert remaining() is None

    middleware = DeadlineMiddleware(lifespan_app, default_seconds=1, max_seconds=1, metrics=None)

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    await middleware({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


def test_without_a_deadline_nothing_remains() -> None:
    assert remaining() is None
    assert outbound_header_value() is None
    assert outbound_header_value(3.0) == "3000"
    assert call_budget(3.0) == (3.0, False)


def test_set_deadline_tightens_but_never_extends() -> None:
    outer = set_deadline(1.0)
    try:
        inner = set_deadline(60.0)
        left = remaining()
        assert left is not None
        assert left <= 1.0
        deadline_var.reset(inner)
        tighter = set_deadline(0.5)
        left = remaining()
        assert left is not None
        assert left <= 0.5
        deadline_var.reset(tighter)
    finally:
        deadline_var.reset(outer)


def test_the_call_budget_is_the_nearer_of_deadline_and_timeout() -> None:
    token = set_deadline(0.5)
    try:
        budget, bound = call_budget(3.0)
        assert bound
        assert 0 < budget <= 0.5
        assert call_budget(0.1) == (0.1, False)
        value = outbound_header_value(3.0)
        assert value is not None
        assert 0 < int(value) < 500
    finally:
        deadline_var.reset(token)


def test_header_values_are_whole_milliseconds_rounded_down_and_never_negative() -> None:
    assert header_value(1.2349) == "1234"
    assert header_value(0.0004) == "0"
    assert header_value(-3.0) == "0"
    assert parse_header(b"1500") == 1.5
    assert parse_header(" 20 ") == 0.02
    assert parse_header("-5") == -0.005
    assert parse_header("1.5") is None
    assert parse_header(None) is None
