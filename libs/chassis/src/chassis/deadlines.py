"""Deadlines carried across hops, so no service keeps working for a caller who gave up.

On the wire, ``X-Request-Deadline-Ms`` carries the REMAINING budget in milliseconds at the time
the request is sent (relative, like gRPC's ``grpc-timeout``, so the hosts' clocks never have to
agree). In a process the deadline is an absolute ``time.monotonic()`` instant in
:data:`deadline_var`, set per request by :class:`DeadlineMiddleware` and read by
:class:`~chassis.http_client.ServiceClient`, which bounds each call by what is left and sends
the rest on.
"""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar, Token
from typing import Final

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import PROBLEM_JSON, Problem
from .logs import get_logger
from .metrics import ServiceMetrics

DEADLINE_HEADER: Final = "x-request-deadline-ms"
DEADLINE_EXCEEDED_TYPE: Final = "https://bazaar.dev/problems/deadline-exceeded"

deadline_var: ContextVar[float | None] = ContextVar("request_deadline", default=None)


class DeadlineExceeded(Exception):
    """The work's deadline passed before it finished."""


def remaining() -> float | None:
    """Seconds left before the current deadline (negative once passed); None without one."""
    deadline = deadline_var.get()
    return None if deadline is None else deadline - time.monotonic()


def set_deadline(seconds: float) -> Token[float | None]:
    """Work in this context must finish within ``seconds``; reset with ``deadline_var.reset``.

    Never extends a deadline already set: a callee cannot grant itself more time than its
    caller will wait.
    """
    deadline = time.monotonic() + seconds
    current = deadline_var.get()
    return deadline_var.set(deadline if current is None else min(current, deadline))


def call_budget(timeout_seconds: float) -> tuple[float, bool]:
    """What one outbound call may take: its own timeout, or what is left of the deadline if
    that is shorter. The flag says the deadline is the binding limit."""
    left = remaining()
    if left is not None and left < timeout_seconds:
        return left, True
    return timeout_seconds, False


def header_value(seconds: float) -> str:
    """The ``X-Request-Deadline-Ms`` value for a budget of ``seconds`` (whole ms, never < 0).

    Rounded down, so the callee never believes it has more time than the caller will wait.
    """
    return str(max(0, int(seconds * 1000)))


def outbound_header_value(timeout_seconds: float | None = None) -> str | None:
    """The header for a call made now: the remaining deadline, or the call's own timeout if
    that is shorter; None when there is neither."""
    if timeout_seconds is None:
        left = remaining()
        return None if left is None else header_value(left)
    return header_value(call_budget(timeout_seconds)[0])


def parse_header(value: bytes | str | None) -> float | None:
    """Seconds from a received header; None when absent or unreadable (then the default)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    try:
        return int(text) / 1000.0
    except ValueError:
        return None


class DeadlineMiddleware:
    """Gives each HTTP request a deadline: the caller's header, or ``default_seconds``, capped
    at ``max_seconds``. An already-spent budget is answered 504 at once, without doing work; a
    handler still running when the deadline passes is cancelled and answered 504.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_seconds: float,
        max_seconds: float,
        metrics: ServiceMetrics | None,
    ) -> None:
        self.app = app
        self.default_seconds = default_seconds
        self.max_seconds = max_seconds
        self.metrics = metrics
        self._log = get_logger(__name__)

    def _budget(self, scope: Scope) -> float:
        asked: float | None = None
        for key, value in scope.get("headers", ()):
            if key == DEADLINE_HEADER.encode():
                asked = parse_header(value)
                break
        return min(self.default_seconds if asked is None else asked, self.max_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = self._budget(scope)
        if budget <= 0:
            if self.metrics is not None:
                self.metrics.requests_shed.labels(reason="deadline").inc()
            self._log.info("request_shed", reason="deadline", path=scope.get("path"))
            await _send_deadline_problem(send, "The request's deadline had passed on arrival.")
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        token = set_deadline(budget)
        try:
            async with asyncio.timeout(budget) as cut:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if not cut.expired():
                raise  # a TimeoutError of the app's own, not our deadline
            self._log.warning(
                "deadline_exceeded", path=scope.get("path"), budget_ms=int(budget * 1000)
            )
            if not response_started:
                await _send_deadline_problem(send, "The request's deadline passed.")
        finally:
            deadline_var.reset(token)


async def _send_deadline_problem(send: Send, detail: str) -> None:
    problem = Problem(detail, status=504, title="Deadline exceeded", type=DEADLINE_EXCEEDED_TYPE)
    body = orjson.dumps(problem.to_dict())
    await send(
        {
            "type": "http.response.start",
            "status": 504,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
