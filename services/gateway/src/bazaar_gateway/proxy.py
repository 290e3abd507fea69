"""Forwarding one request to an upstream and streaming its answer back.

Request bodies are streamed (a body that arrives in one piece is sent as bytes, which is what
most requests are); response bodies are streamed chunk by chunk as they arrive. Failures before
the response starts become problems that name the service, never its address: 502 when it cannot
be reached, 504 when it does not answer in time, 413 when the body is over the limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote_from_bytes

import aiohttp
from starlette.types import Message, Receive, Scope, Send

from chassis import PayloadTooLarge, Problem, get_logger

from .headers import ForwardedRequest, returned_headers
from .responses import send_problem
from .upstreams import Upstream

UNAVAILABLE = "https://bazaar.dev/problems/upstream-unavailable"
TIMEOUT = "https://bazaar.dev/problems/upstream-timeout"
# The status logged when the client went away before an answer (as nginx does).
CLIENT_CLOSED = 499
# Safe to send again (to the next instance) when the connection failed.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_NO_BODY_STATUSES = frozenset({204, 304})
_log = get_logger("bazaar_gateway.proxy")


class _ClientGone(Exception):
    pass


class _RequestBody:
    """The client's body as aiohttp reads it, counted against the limit as it streams."""

    __slots__ = ("first", "limit", "receive", "too_large")

    def __init__(self, first: bytes, receive: Receive, limit: int) -> None:
        self.first = first
        self.receive = receive
        self.limit = limit
        self.too_large = False

    async def chunks(self) -> AsyncIterator[bytes]:
        received = len(self.first)
        yield self.first
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk: bytes = message.get("body", b"")
            received += len(chunk)
            if received > self.limit:
                self.too_large = True
                raise PayloadTooLarge(f"The request body exceeds {self.limit} bytes.")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


def _too_large(limit: int) -> Problem:
    return PayloadTooLarge(f"The request body exceeds {limit} bytes.")


def _unavailable(service: str) -> Problem:
    return Problem(
        f"The {service} service is unavailable.", status=502, type=UNAVAILABLE, service=service
    )


def _timed_out(service: str) -> Problem:
    return Problem(
        f"The {service} service did not answer in time.",
        status=504,
        type=TIMEOUT,
        service=service,
    )


def _upstream_path(scope: Scope) -> str:
    # The client's own encoding is forwarded, so the upstream decodes exactly what we matched.
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return quote_from_bytes(scope["path"].encode())
    if b"?" in raw:
        # Not every server strips the query from raw_path; it is forwarded separately.
        raw = raw.partition(b"?")[0]
    if raw.isascii():
        return raw.decode("ascii")
    return quote_from_bytes(raw, safe="/%:@!$&'()*+,;=-._~")


async def forward(
    scope: Scope,
    receive: Receive,
    send: Send,
    upstream: Upstream,
    max_body_bytes: int,
    request_id: str,
) -> int:
    """Proxies the request; returns the status the client got (for the access log)."""
    method: str = scope["method"]
    instance_path: str = scope["path"]
    client = scope.get("client")
    request = ForwardedRequest(
        scope["headers"],
        client_host=client[0] if client else None,
        scheme=scope["scheme"],
        request_id=request_id,
    )
    if request.content_length is not None and request.content_length > max_body_bytes:
        return await send_problem(send, _too_large(max_body_bytes), instance_path, request_id)
    data: bytes | AsyncIterator[bytes] | None = None
    body: _RequestBody | None = None
    if request.has_body:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return CLIENT_CLOSED
        first: bytes = message.get("body", b"")
        if len(first) > max_body_bytes:
            return await send_problem(send, _too_large(max_body_bytes), instance_path, request_id)
        if message.get("more_body", False):
            body = _RequestBody(first, receive, max_body_bytes)
            data = body.chunks()
        else:
            data = first
    path = _upstream_path(scope)
    query = scope["query_string"].decode("latin-1")
    # A streamed body cannot be sent again; anything else gets a second try (on the next
    # instance) when the connection fails, e.g. a pooled one the upstream has just closed.
    attempts = 1 if body is not None else 2
    for attempt in range(attempts):
        try:
            async with upstream.session.request(
                method,
                upstream.next_instance().url(path, query),
                headers=request.headers,
                data=data,
                allow_redirects=False,
            ) as response:
                return await _relay(send, response, method, request_id)
        except _ClientGone:
            return CLIENT_CLOSED
        except PayloadTooLarge as exc:
            return await send_problem(send, exc, instance_path, request_id)
        except TimeoutError:
            _log.warning("upstream_timeout", service=upstream.name, request_id=request_id)
            return await send_problem(send, _timed_out(upstream.name), instance_path, request_id)
        except aiohttp.ClientError as exc:
            # aiohttp wraps what the body generator raised; the flag says which case it was.
            if body is not None and body.too_large:
                problem = _too_large(max_body_bytes)
                return await send_problem(send, problem, instance_path, request_id)
            if isinstance(exc.__cause__, _ClientGone):
                return CLIENT_CLOSED
            nothing_sent = isinstance(exc, aiohttp.ClientConnectorError)
            if attempt + 1 < attempts and (nothing_sent or method in _IDEMPOTENT):
                continue
            _log.warning(
                "upstream_failed",
                service=upstream.name,
                error=type(exc).__name__,
                request_id=request_id,
            )
            break
    return await send_problem(send, _unavailable(upstream.name), instance_path, request_id)


async def _relay(send: Send, response: aiohttp.ClientResponse, method: str, request_id: str) -> int:
    headers = returned_headers(response.raw_headers)
    headers.append((b"x-request-id", request_id.encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    try:
        await _relay_body(send, response, method)
    except (TimeoutError, aiohttp.ClientError) as exc:
        # Too late for a problem: the status line is out. Ending without completing the
        # response makes the server drop the connection, so the client sees a truncated body.
        _log.warning("upstream_body_failed", error=type(exc).__name__, request_id=request_id)
    return response.status


async def _relay_body(send: Send, response: aiohttp.ClientResponse, method: str) -> None:
    length = response.content_length
    if method == "HEAD" or response.status in _NO_BODY_STATUSES or length == 0:
        await send({"type": "http.response.body", "body": b""})
        return
    content = response.content
    if length is not None:
        # The last chunk ends the response: no extra empty message.
        remaining = length
        while remaining > 0:
            chunk = await content.readany()
            if not chunk:
                return
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        return
    async for chunk in content.iter_any():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
