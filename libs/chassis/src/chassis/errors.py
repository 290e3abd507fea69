"""Every 4xx/5xx answer is ``application/problem+json`` (RFC 9457).

Services raise :class:`Problem` (or a subclass) at their entrypoints, after translating their own
domain errors; the handlers installed by :func:`install_problem_handlers` render it. Validation
errors name every offending field; anything unexpected becomes a 500 that leaks no internals.

    Problem
    ├── BadRequest            400
    ├── Unauthorized          401  (carries WWW-Authenticate)
    ├── Forbidden             403
    ├── NotFound              404
    ├── Conflict              409
    ├── PayloadTooLarge       413
    ├── Unprocessable         422
    ├── ServiceUnavailable    503
    └── (any status)          via Problem(status=...)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from .logs import get_logger

PROBLEM_JSON = "application/problem+json"
_log = get_logger(__name__)


class Problem(Exception):
    status: int = 500
    title: str | None = None
    type: str = "about:blank"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        title: str | None = None,
        type: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        if type is not None:
            self.type = type
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions
        super().__init__(detail or self.title or HTTPStatus(self.status).phrase)

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title or HTTPStatus(self.status).phrase,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body


class BadRequest(Problem):
    status = 400


class Unauthorized(Problem):
    status = 401

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="bazaar"'})
        super().__init__(detail, **kwargs)


class Forbidden(Problem):
    status = 403


class NotFound(Problem):
    status = 404


class Conflict(Problem):
    status = 409


class PayloadTooLarge(Problem):
    status = 413


class Unprocessable(Problem):
    status = 422


class ServiceUnavailable(Problem):
    status = 503


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    headers = dict(problem.headers)
    return Response(
        orjson.dumps(problem.to_dict(instance)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def describe_validation_errors(errors: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """Turn pydantic's errors into a one-line detail and a list naming each field."""
    items: list[dict[str, Any]] = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        # "body" is where, not what: drop it so the field path reads as the client wrote it.
        field = ".".join(p for p in loc if p not in ("body",)) or "body"
        message = err.get("msg", "invalid")
        items.append({"field": field, "message": message, "type": err.get("type")})
    detail = "; ".join(f"{i['field']}: {i['message']}" for i in items)
    return detail, items


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request.url.path)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    problem = Problem(
        exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None,
        status=exc.status_code,
        headers=exc.headers,
    )
    return problem_response(problem, request.url.path)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        problem: Problem = BadRequest("The request body is not valid JSON.", title="Malformed JSON")
    else:
        detail, items = describe_validation_errors(errors)
        problem = Unprocessable(detail, title="Invalid request", errors=items)
    return problem_response(problem, request.url.path)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    _log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return problem_response(Problem("An unexpected error occurred.", status=500), request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)
