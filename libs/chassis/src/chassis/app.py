"""The one call that gives a service its defaults (as eShop's ``AddServiceDefaults``).

``create_service_app`` returns a FastAPI app with JSON logs, request ids, a body size cap,
problem+json errors, ``/health`` and ``/ready``, bearer-token verification when a verifier is
given, and an OpenAPI document whose error responses are all problem+json.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from .admission import EXEMPT_PATHS, AdmissionControl
from .auth import TokenVerifier
from .deadlines import DeadlineMiddleware
from .errors import PROBLEM_JSON, install_problem_handlers
from .faults import FaultInjectionMiddleware, FaultState, faults_router, faults_var
from .health import health_router
from .logs import configure_logging, get_logger
from .metrics import ServiceMetrics, metrics_router
from .middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from .settings import ServiceSettings
from .tracing import Tracing, tracing_var

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem detail.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status"],
}
_QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})


def _problem_openapi(
    app: FastAPI, build: Callable[[], dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    """Every 4xx/5xx in the document points at the one Problem schema, as the handlers answer."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for code, response in operation.get("responses", {}).items():
                    if code[0] in "45":
                        response["content"] = content
                        if response.get("description") == "Validation Error":
                            response["description"] = "Invalid request"
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = PROBLEM_SCHEMA
        app.openapi_schema = schema
        return schema

    return openapi


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    lifespan: Lifespan | None = None,
    token_verifier: TokenVerifier | None = None,
    tracing: Tracing | None = None,
) -> FastAPI:
    configure_logging(
        service=settings.service_name,
        version=settings.service_version,
        level=settings.log_level,
        json=settings.log_json,
    )
    log = get_logger("chassis.app")

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        log.info("starting", environment=settings.environment, port=settings.port)
        # What the lifespan builds (database, broker, clients) picks up the fault state and
        # the tracing here.
        faults_token = faults_var.set(app.state.faults)
        tracing_token = tracing_var.set(app.state.tracing)
        try:
            if lifespan is None:
                app.state.started = True
                yield
            else:
                async with lifespan(app):
                    app.state.started = True
                    log.info("started")
                    yield
        finally:
            tracing_var.reset(tracing_token)
            faults_var.reset(faults_token)
        app.state.started = False
        verifier: TokenVerifier | None = app.state.token_verifier
        if verifier is not None:
            await verifier.close()
        # Spans still in the batch are written before the process goes.
        app.state.tracing.shutdown()
        log.info("stopped")

    app = FastAPI(
        title=title,
        description=description,
        version=settings.service_version,
        lifespan=run,
        docs_url=None,
        redoc_url=None,
    )
    metrics = ServiceMetrics(service=settings.service_name)
    if tracing is None:
        tracing = Tracing.from_settings(
            settings,
            service=settings.service_name,
            version=settings.service_version,
            environment=settings.environment,
        )
    app.state.tracing = tracing
    faults = FaultState(metrics=metrics) if settings.fault_injection_enabled else None
    app.state.settings = settings
    app.state.started = False
    app.state.readiness_checks = {}
    app.state.token_verifier = token_verifier
    app.state.metrics = metrics
    app.state.faults = faults
    install_problem_handlers(app)
    app.include_router(health_router())
    app.include_router(metrics_router())
    if faults is not None:
        app.include_router(faults_router())
    for router in routers:
        app.include_router(router)
    # add_middleware puts each one outside the ones added before it; from the outside in:
    # admission (shed before any work, and before an access-log line per shed request),
    # request context (ids, access log), deadline (its 504s carry the request id), faults
    # (outside the body cap, which hides the connection an abort needs), body size cap.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if faults is not None:
        app.add_middleware(FaultInjectionMiddleware, state=faults, metrics=metrics)
    app.add_middleware(
        DeadlineMiddleware,
        default_seconds=settings.request_deadline_seconds,
        max_seconds=max(settings.request_deadline_seconds, 60.0),
        metrics=metrics,
    )
    app.add_middleware(
        RequestContextMiddleware, quiet_paths=_QUIET_PATHS, metrics=metrics, tracing=tracing
    )
    app.add_middleware(
        AdmissionControl,
        max_inflight=settings.max_inflight_requests,
        max_queue_seconds=settings.max_queue_seconds,
        metrics=metrics,
        # Faults stay clearable under the overload they may have caused.
        exempt_paths=EXEMPT_PATHS | {"/admin/faults"},
    )
    app.openapi = _problem_openapi(app, app.openapi)  # type: ignore[method-assign]
    return app
