"""W3C trace context: one trace id from the request, through calls and events, to consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from chassis import CloudEvent, ServiceClient, UpstreamPolicy, new_event
from chassis.trace_context import (
    child_traceparent,
    continue_trace,
    parse_traceparent,
    trace_id,
    traceparent_var,
)

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


def test_a_child_keeps_the_trace_and_gets_a_new_span() -> None:
    token = continue_trace(INCOMING)
    try:
        child = child_traceparent()
    finally:
        traceparent_var.reset(token)
    assert trace_id(child) == trace_id(INCOMING)
    assert child != INCOMING
    assert parse_traceparent(child) == child


def test_an_invalid_incoming_trace_starts_a_new_one() -> None:
    token = continue_trace("not a traceparent")
    try:
        current = traceparent_var.get()
    finally:
        traceparent_var.reset(token)
    assert current is not None
    assert parse_traceparent(current) == current


async def test_the_request_trace_is_answered_and_stamped_on_events(
    client: httpx.AsyncClient,
) -> None:
    answered = await client.get("/health", headers={"traceparent": INCOMING})
    assert answered.headers["x-trace-id"] == trace_id(INCOMING)
    fresh = await client.get("/health")
    assert len(fresh.headers["x-trace-id"]) == 32
    assert fresh.headers["x-trace-id"] != trace_id(INCOMING)

    token = continue_trace(INCOMING)
    try:
        event = new_event(source="/bazaar/test", type="t", subject=None, data={})
    finally:
        traceparent_var.reset(token)
    assert event.traceparent is not None
    assert trace_id(event.traceparent) == trace_id(INCOMING)
    assert CloudEvent.from_json(event.to_json()).traceparent == event.traceparent


@pytest.fixture
async def echo_server(unused_tcp_port: int) -> AsyncIterator[tuple[str, list[str]]]:
    seen: list[str] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append(request.headers.get("traceparent", ""))
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/echo", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    yield f"http://127.0.0.1:{unused_tcp_port}", seen
    await runner.cleanup()


async def test_outbound_calls_carry_the_trace(echo_server: tuple[str, list[str]]) -> None:
    url, seen = echo_server
    client = ServiceClient("echo", url, policy=UpstreamPolicy(max_attempts=1))
    token = continue_trace(INCOMING)
    try:
        await client.get("/echo")
    finally:
        traceparent_var.reset(token)
        await client.close()
    assert [trace_id(t) for t in seen] == [trace_id(INCOMING)]
    assert seen[0] != INCOMING  # a child span, not the caller's own
