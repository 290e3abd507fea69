"""Fault injection: added latency, error answers, dropped connections and unavailable
dependencies, switched on at run time through ``/admin/faults`` to prove the resilience work.

Nothing here is installed unless ``FAULT_INJECTION_ENABLED=true``; then the middleware, the
admin router and a :class:`FaultState` exist, and the dependency hooks consult it:

    InjectedFault (ConnectionError)        FaultState.check(dependency)
    ├── InjectedBrokerFault (+BrokerUnavailable)            broker_fault_check(...)
    └── InjectedUpstreamFault (+UpstreamUnavailable)         upstream_fault_check(...)

Each is the error the caller already treats as "that dependency is down", so a fault exercises
the same code paths as a real outage. Random draws come from an injectable source so tests are
deterministic.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel
from sqlalchemy import event
from starlette.types import ASGIApp, Receive, Scope, Send

from .admission import ThrottledLog
from .auth import require_role
from .broker import BrokerUnavailable
from .errors import PROBLEM_JSON, NotFound
from .logs import get_logger
from .metrics import ServiceMetrics
from .upstream_errors import UpstreamUnavailable

if TYPE_CHECKING:
    from .db import Database

_log = get_logger(__name__)
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics", "/admin/faults"})
INJECTED_FAULT_TYPE = "https://bazaar.dev/problems/injected-fault"
ABORT_WAIT_SECONDS = 1.0


class InjectedFault(ConnectionError):
    """A dependency made unavailable on purpose; a ``ConnectionError`` like a refused connect."""

    def __init__(self, dependency: str) -> None:
        super().__init__(f"injected fault: {dependency} is unavailable")
        self.dependency = dependency


class InjectedBrokerFault(InjectedFault, BrokerUnavailable):
    """Raised where the broker raises ``BrokerUnavailable``: the outbox keeps the events."""


class InjectedUpstreamFault(InjectedFault, UpstreamUnavailable):
    """Raised inside a ``ServiceClient`` attempt: counted by the breaker and retried like a
    refused connection, and an ``UpstreamUnavailable`` to the caller."""

    def __init__(self, upstream: str) -> None:
        InjectedFault.__init__(self, upstream)
        self.upstream = upstream


class InjectedAbort(Exception):
    """The connection could not be dropped quietly (not served by uvicorn): fail loudly."""


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    abort_rate: float = 0.0
    dependencies: frozenset[str] = field(default_factory=frozenset)

    @property
    def affects_requests(self) -> bool:
        return self.latency_ms > 0 or self.error_rate > 0 or self.abort_rate > 0


class FaultState:
    """The faults in force now. ``faults`` is replaced whole, so a request sees one setting."""

    def __init__(
        self,
        *,
        metrics: ServiceMetrics | None = None,
        random: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.metrics = metrics
        # Not for security: a seeded or scripted source makes fault tests deterministic.
        self.random = random or _random.Random().random  # noqa: S311
        self.sleep = sleep
        self.faults = Faults()
        self._log = ThrottledLog("fault_injected")

    @property
    def latency_ms(self) -> int:
        return self.faults.latency_ms

    @property
    def error_rate(self) -> float:
        return self.faults.error_rate

    @property
    def error_status(self) -> int:
        return self.faults.error_status

    @property
    def abort_rate(self) -> float:
        return self.faults.abort_rate

    @property
    def dependencies(self) -> frozenset[str]:
        return self.faults.dependencies

    def set(self, faults: Faults) -> None:
        self.faults = faults
        _log.warning(
            "faults_set",
            latency_ms=faults.latency_ms,
            error_rate=faults.error_rate,
            error_status=faults.error_status,
            abort_rate=faults.abort_rate,
            dependencies=sorted(faults.dependencies),
        )

    def clear(self) -> None:
        self.faults = Faults()
        _log.info("faults_cleared")

    def roll(self, rate: float) -> bool:
        return rate > 0 and (rate >= 1 or self.random() < rate)

    def record(self, kind: str, *, metrics: ServiceMetrics | None = None, **fields: Any) -> None:
        counted = metrics or self.metrics
        if counted is not None:
            counted.faults_injected.labels(kind=kind).inc()
        self._log.record(kind, kind=kind, **fields)

    def check(self, dependency: str) -> None:
        """Raises :class:`InjectedFault` while ``dependency`` is marked unavailable."""
        if dependency in self.faults.dependencies:
            self.record("dependency", dependency=dependency)
            raise InjectedFault(dependency)


# -- hooks for the dependency call sites ------------------------------------------------------

faults_var: ContextVar[FaultState | None] = ContextVar("bazaar_faults", default=None)


def current_faults() -> FaultState | None:
    """The app's fault state, set for its lifespan: what the broker, database and clients built
    there pick up (None when fault injection is off)."""
    return faults_var.get()


def broker_fault_check(state: FaultState | None) -> None:
    """First line of ``NatsBroker.publish_raw``: raises a ``BrokerUnavailable``."""
    if state is not None and "broker" in state.faults.dependencies:
        state.record("dependency", dependency="broker")
        raise InjectedBrokerFault("broker")


def upstream_fault_check(state: FaultState | None, upstream: str) -> None:
    """Inside each ``ServiceClient`` attempt, before the network call."""
    if state is not None and upstream in state.faults.dependencies:
        state.record("dependency", dependency=upstream)
        raise InjectedUpstreamFault(upstream)


def install_database_faults(database: Database, state: FaultState | None) -> None:
    """Every transaction the engine begins (sessions, pings, migration checks) first checks
    ``"database"``. The listener raises before the driver is touched, so the connection goes
    back to the pool unharmed and the caller sees a ``ConnectionError`` as on a refused connect.
    """
    if state is None:
        return

    def on_begin(_connection: Any) -> None:
        state.check("database")

    event.listen(database.engine.sync_engine, "begin", on_begin)


# -- HTTP faults ------------------------------------------------------------------------------


class FaultInjectionMiddleware:
    """Pure ASGI: delays, fails or drops requests per the current faults. Place it outside
    ``BodySizeLimitMiddleware`` (anything wrapping ``receive`` hides the connection to drop)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        state: FaultState,
        metrics: ServiceMetrics | None = None,
        exempt_paths: frozenset[str] = EXEMPT_PATHS,
    ) -> None:
        self.app = app
        self.state = state
        self.metrics = metrics
        self.exempt_paths = exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.state.faults
        if not faults.affects_requests or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        if faults.latency_ms > 0:
            self.state.record("latency", metrics=self.metrics, latency_ms=faults.latency_ms)
            await self.state.sleep(faults.latency_ms / 1000)
        if self.state.roll(faults.abort_rate):
            self.state.record("abort", metrics=self.metrics)
            await _drop_connection(receive)
            return
        if self.state.roll(faults.error_rate):
            self.state.record("error", metrics=self.metrics, status=faults.error_status)
            await _send_error(send, faults.error_status)
            return
        await self.app(scope, receive, send)


async def _drop_connection(receive: Receive) -> None:
    """Closes the connection without a response. ASGI has no message for that, so this reaches
    the server's transport through ``receive`` (uvicorn's is a bound method of the request
    cycle, which holds it), then waits until the server has seen the disconnect, so that on
    returning it sends nothing (not even its "no response started" 500)."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    close = getattr(transport, "close", None)
    if not callable(close):
        raise InjectedAbort("injected abort: the connection cannot be reached to drop it")
    close()
    try:
        async with asyncio.timeout(ABORT_WAIT_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        raise InjectedAbort("injected abort: the server did not see the disconnect") from None


async def _send_error(send: Send, status: int) -> None:
    body = orjson.dumps(
        {
            "type": INJECTED_FAULT_TYPE,
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": "Injected fault.",
        }
    )
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if status in (429, 503):
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- the admin endpoint -----------------------------------------------------------------------

DependencyName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", min_length=1, max_length=40)
]


class FaultsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    latency_ms: int = Field(default=0, ge=0, le=60_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_status: int = Field(default=500, ge=400, le=599)
    abort_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    dependencies: list[DependencyName] = Field(default_factory=list, max_length=20)

    @classmethod
    def of(cls, faults: Faults) -> FaultsBody:
        return cls(
            latency_ms=faults.latency_ms,
            error_rate=faults.error_rate,
            error_status=faults.error_status,
            abort_rate=faults.abort_rate,
            dependencies=sorted(faults.dependencies),
        )

    def to_faults(self) -> Faults:
        return Faults(
            latency_ms=self.latency_ms,
            error_rate=self.error_rate,
            error_status=self.error_status,
            abort_rate=self.abort_rate,
            dependencies=frozenset(self.dependencies),
        )


def _fault_state(request: Request) -> FaultState:
    state: FaultState | None = getattr(request.app.state, "faults", None)
    if state is None:
        raise NotFound("Fault injection is not enabled.")
    return state


CurrentFaults = Annotated[FaultState, Depends(_fault_state)]


def faults_router() -> APIRouter:
    """``GET/PUT/DELETE /admin/faults`` for admins; expects ``app.state.faults``."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(require_role("admin"))])

    @router.get("/admin/faults", response_model_by_alias=True)
    async def show(state: CurrentFaults) -> FaultsBody:
        return FaultsBody.of(state.faults)

    @router.put("/admin/faults", response_model_by_alias=True)
    async def replace(body: FaultsBody, state: CurrentFaults) -> FaultsBody:
        state.set(body.to_faults())
        return FaultsBody.of(state.faults)

    @router.delete("/admin/faults", status_code=204)
    async def clear(state: CurrentFaults) -> Response:
        state.clear()
        return Response(status_code=204)

    return router
