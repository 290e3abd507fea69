"""OpenTelemetry spans: a request's SERVER span continues the caller's trace, its calls are
CLIENT children that carry it on, and the ids reach the response, the logs and the events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Request
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from chassis import (
    ServiceClient,
    ServiceSettings,
    Tracing,
    UpstreamPolicy,
    create_service_app,
    get_logger,
    new_event,
)
from chassis.trace_context import parse_traceparent, trace_id

INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (INCOMING, True),
        (INCOMING.upper(), True),
        ("00-" + "0" * 32 + "-00f067aa0ba902b7-01", False),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01", False),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", False),
        ("garbage", False),
        (None, False),
    ],
)
def test_only_valid_traceparents_are_accepted(value: str | None, valid: bool) -> None:
    assert (parse_traceparent(value) is not None) is valid


@pytest.fixture
async def echo(unused_tcp_port: int) -> AsyncIterator[tuple[str, list[str]]]:
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.get("traceparent", ""))
        return web.json_response({}, status=int(request.query.get("status", "200")))

    app = web.Application()
    app.router.add_get("/echo", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    yield f"http://127.0.0.1:{unused_tcp_port}", seen
    await runner.cleanup()


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str, request: Request) -> dict[str, Any]:
        get_logger("sample").info("looking_up", thing_id=thing_id)
        event = new_event(source="/sample", type="t", subject=thing_id, data={})
        calls = int(request.query_params.get("calls", "0"))
        status = request.query_params.get("status", "200")
        for _ in range(calls):
            await request.app.state.echo.get("/echo", params={"status": status})
        return {"traceparent": event.traceparent}

    @router.get("/boom")
    async def boom() -> dict[str, Any]:
        raise RuntimeError("kaboom")

    return router


@pytest.fixture
async def client(tracing: Tracing, echo: tuple[str, list[str]]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(
        ServiceSettings(service_name="sample"), title="Sample", routers=[_router()], tracing=tracing
    )
    async with LifespanManager(app):
        # Built where a lifespan would build it: it picks up the service's tracing.
        from chassis.tracing import tracing_var

        token = tracing_var.set(tracing)
        app.state.echo = ServiceClient("echo", echo[0], policy=UpstreamPolicy(max_attempts=1))
        tracing_var.reset(token)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://sample") as c:
            yield c
        await app.state.echo.close()


def _by_kind(spans: tuple[ReadableSpan, ...], kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is kind]


async def test_a_request_continues_the_callers_trace_under_its_route(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    answered = await client.get("/things/42", headers={"traceparent": INCOMING})
    assert answered.status_code == 200
    assert answered.headers["x-trace-id"] == trace_id(INCOMING)
    (server,) = exporter.get_finished_spans()
    assert server.kind is SpanKind.SERVER
    assert server.name == "GET /things/{thing_id}"
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 200
    assert server.resource.attributes["service.name"] == "sample"
    assert server.parent is not None
    assert server.parent.span_id == int(INCOMING[36:52], 16)
    # An event made in the request names the request's span as its parent.
    stamped = answered.json()["traceparent"]
    assert stamped[36:52] == f"{server.context.span_id:016x}"


async def test_without_a_valid_caller_trace_a_new_one_starts(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    first = await client.get("/things/1", headers={"traceparent": "junk"})
    second = await client.get("/things/2")
    ids = {first.headers["x-trace-id"], second.headers["x-trace-id"]}
    assert len(ids) == 2
    assert all(len(i) == 32 for i in ids)
    assert all(span.parent is None for span in exporter.get_finished_spans())


async def test_outbound_calls_are_client_spans_whose_context_is_sent(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter, echo: tuple[str, list[str]]
) -> None:
    await client.get("/things/7", params={"calls": "2"}, headers={"traceparent": INCOMING})
    spans = exporter.get_finished_spans()
    (server,) = _by_kind(spans, SpanKind.SERVER)
    calls = _by_kind(spans, SpanKind.CLIENT)
    assert [span.name for span in calls] == ["GET echo", "GET echo"]
    assert all(span.parent and span.parent.span_id == server.context.span_id for span in calls)
    # The callee hears of the client span: same trace, the client span as its parent.
    assert [t[36:52] for t in echo[1]] == [f"{span.context.span_id:016x}" for span in calls]
    assert {trace_id(t) for t in echo[1]} == {trace_id(INCOMING)}


async def test_server_errors_mark_spans_failed_and_client_errors_do_not(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    assert (await client.get("/boom")).status_code == 500
    assert (await client.get("/things/1", params={"calls": "1", "status": "503"})).status_code
    assert (await client.get("/nowhere")).status_code == 404
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["GET /boom"].status.status_code is StatusCode.ERROR
    assert [e.name for e in spans["GET /boom"].events] == ["exception"]
    assert spans["GET echo"].status.status_code is StatusCode.ERROR
    assert spans["GET"].status.status_code is StatusCode.UNSET  # 404: no route, not our fault


async def test_probes_are_not_traced(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    assert (await client.get("/health")).status_code == 200
    assert exporter.get_finished_spans() == ()


async def test_log_lines_carry_the_trace_and_span_ids(
    client: httpx.AsyncClient, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    await client.get("/things/9", headers={"traceparent": INCOMING})
    (server,) = exporter.get_finished_spans()
    # The records as the JSON renderer gets them (the handler's stream predates the capture).
    lines = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    mine = [line for line in lines if line.get("event") in {"looking_up", "request"}]
    assert {line["event"] for line in mine} == {"looking_up", "request"}
    for line in mine:
        assert line["trace_id"] == trace_id(INCOMING)
        assert line["span_id"] == f"{server.context.span_id:016x}"
        assert line["service"] == "sample"
