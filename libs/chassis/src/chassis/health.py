"""``/health`` (the process is alive) and ``/ready`` (its dependencies answer).

Readiness checks are registered by the service's lifespan, once the resources they probe exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from .db import Database
from .errors import ServiceUnavailable, problem_response
from .migrations import current_revision, head_revision

ReadinessCheck = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 2.0


def register_readiness(app: FastAPI, name: str, check: ReadinessCheck) -> None:
    app.state.readiness_checks[name] = check


def database_check(database: Database) -> ReadinessCheck:
    return database.ping


def migrations_check(database: Database, script_location: Path) -> ReadinessCheck:
    head = head_revision(script_location)

    async def check() -> None:
        current = await current_revision(database.engine)
        if current != head:
            raise RuntimeError(f"schema at {current}, migrations head is {head}")

    return check


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/health")
    async def health(request: Request) -> JSONResponse:
        settings = request.app.state.settings
        return JSONResponse(
            {"status": "ok", "service": settings.service_name, "version": settings.service_version}
        )

    @router.get("/ready")
    async def ready(request: Request) -> object:
        checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
        results: dict[str, str] = {}

        async def run(name: str, check: ReadinessCheck) -> None:
            try:
                await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
                results[name] = "ok"
            except Exception as exc:  # any failure means "not ready", with the reason shown
                results[name] = f"failed: {type(exc).__name__}: {exc}"[:300]

        await asyncio.gather(*(run(n, c) for n, c in checks.items()))
        if not request.app.state.started or any(v != "ok" for v in results.values()):
            problem = ServiceUnavailable("Not ready.", checks=results)
            return problem_response(problem, "/ready")
        return JSONResponse({"status": "ready", "checks": results})

    return router
