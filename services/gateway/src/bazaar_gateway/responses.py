"""The gateway's own answers, sent straight through ASGI (problem+json and small JSON bodies).

Each returns the status it sent, for the access log.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Send

from chassis import PROBLEM_JSON, Problem

_PROBLEM_TYPE = PROBLEM_JSON.encode()
_JSON_TYPE = b"application/json"


async def send_body(
    send: Send,
    status: int,
    content_type: bytes,
    body: bytes,
    request_id: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> int:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


async def send_problem(
    send: Send,
    problem: Problem,
    instance: str,
    request_id: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> int:
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items()
    ]
    if extra:
        headers.extend(extra)
    body = orjson.dumps(problem.to_dict(instance))
    return await send_body(send, problem.status, _PROBLEM_TYPE, body, request_id, headers)


async def send_json(send: Send, status: int, content: Any, request_id: str) -> int:
    return await send_body(send, status, _JSON_TYPE, orjson.dumps(content), request_id)
