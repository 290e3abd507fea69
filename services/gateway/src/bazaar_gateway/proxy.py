"""Forwarding one request to an upstream and streaming its answer back.

Request bodies are streamed (a body that arrives in one piece is sent as bytes, which is what
most requests are); response bodies are streamed chunk by chunk as they arrive. Failures before
the response starts become problems that name the service, never its address: 502 when it cannot
be reached, 504 when it does not answer in time, 413 when the body is over the limit, 503 when
its circuit breaker is open or its bulkhead full (no network touched), 504 when the request's
deadline has already passed.

Each call is bounded by the request's deadline (total time, body included) and carries what is
left of it in `X-Request-Deadline-Ms`. Its outcome feeds the upstream's breaker once, when the
status line arrives: 500/502/503/504, connection failures and timeouts count as failures, any
other answer as a success. A timeout the client brought on itself (a deadline it shortened below
a second) only frees the breaker's probe slot, so no client can open a breaker for everyone by
sending tiny deadlines. Catalog reads that fail (including a 5xx answer) are answered from the
catalog fallback, or 503.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from urllib.parse import quote_from_bytes

import aiohttp
from starlette.types import Message, Receive, Scope, Send

from chassis import PayloadTooLarge, get_logger
from chassis.deadlines import header_value

from .catalog_cache import CatalogRead, shareable
from .failures import (
    answer_failure,
    circuit_open,
    deadline_passed,
    timed_out,
    too_large,
    unavailable,
)
from .headers import ForwardedRequest, returned_headers
from .responses import send_problem
from .upstreams import Upstream

# The status logged when the client went away before an answer (as nginx does).
CLIENT_CLOSED = 499
# Safe to send again (to the next instance) when the connection failed.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_NO_BODY_STATUSES = frozenset({204, 304})
_GONE_STATUSES = frozenset({404, 410})
# Answers that say the upstream itself is in trouble (the breaker counts them as failures).
_FAILURE_STATUSES = frozenset({500, 502, 503, 504})
# A call given less than this by a client-shortened deadline does not count against the breaker.
_COUNTED_TIMEOUT_FLOOR_SECONDS = 1.0
_DEADLINE_HEADER = "x-request-deadline-ms"
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
    request_id: str,
    *,
    trace_headers: Mapping[str, str],
    max_body_bytes: int,
    deadline: float,
    shortened: bool,
    extra: list[tuple[bytes, bytes]] | None = None,
    catalog: CatalogRead | None = None,
) -> int:
    """Proxies the request within `deadline` (a `time.monotonic()` instant; `shortened` when the
    client's header set it); `extra` headers go on whatever is answered; `catalog` is set for
    catalog reads. Returns the status the client got (for the access log)."""
    instance_path: str = scope["path"]
    client = scope.get("client")
    request = ForwardedRequest(
        scope["headers"],
        client_host=client[0] if client else None,
        scheme=scope["scheme"],
        request_id=request_id,
        trace_headers=trace_headers,
    )
    if request.content_length is not None and request.content_length > max_body_bytes:
        problem = too_large(max_body_bytes)
        return await send_problem(send, problem, instance_path, request_id, extra)
    budget = deadline - time.monotonic()
    if budget <= 0:
        upstream.outcomes.deadline.inc()
        return await send_problem(send, deadline_passed(), instance_path, request_id, extra)
    breaker = upstream.breaker
    if not breaker.allow():
        upstream.outcomes.rejected_open.inc()
        return await answer_failure(
            send, circuit_open(upstream), instance_path, request_id, extra, catalog
        )
    if upstream.in_flight >= upstream.max_in_flight:
        breaker.release()
        upstream.outcomes.rejected_bulkhead.inc()
        problem = unavailable(upstream.name, 503, " (too many calls in flight)")
        return await answer_failure(send, problem, instance_path, request_id, extra, catalog)
    upstream.in_flight += 1
    try:
        return await _call(
            scope, receive, send, upstream, request, request_id,
            max_body_bytes, deadline, shortened, extra, catalog,
        )  # fmt: skip
    finally:
        upstream.in_flight -= 1


async def _call(
    scope: Scope,
    receive: Receive,
    send: Send,
    upstream: Upstream,
    request: ForwardedRequest,
    request_id: str,
    max_body_bytes: int,
    deadline: float,
    shortened: bool,
    extra: list[tuple[bytes, bytes]] | None,
    catalog: CatalogRead | None,
) -> int:
    """The call itself, once the breaker and the bulkhead let it through. Settles the breaker
    exactly once: an outcome, or `release()` when there is none worth counting."""
    method: str = scope["method"]
    instance_path: str = scope["path"]
    breaker = upstream.breaker
    settled = False
    try:
        data: bytes | AsyncIterator[bytes] | None = None
        body: _RequestBody | None = None
        if request.has_body:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                return CLIENT_CLOSED
            first: bytes = message.get("body", b"")
            if len(first) > max_body_bytes:
                problem = too_large(max_body_bytes)
                return await send_problem(send, problem, instance_path, request_id, extra)
            if message.get("more_body", False):
                body = _RequestBody(first, receive, max_body_bytes)
                data = body.chunks()
            else:
                data = first
        path = _upstream_path(scope)
        query = scope["query_string"].decode("latin-1")
        budget = deadline - time.monotonic()
        headers = request.headers
        headers.append((_DEADLINE_HEADER, header_value(budget)))
        # A streamed body cannot be sent again; anything else gets a second try (on the next
        # instance) when the connection fails, e.g. a pooled one the upstream has just closed.
        attempts = 1 if body is not None else 2
        for attempt in range(attempts):
            try:
                async with upstream.session.request(
                    method,
                    upstream.next_instance().url(path, query),
                    headers=headers,
                    data=data,
                    allow_redirects=False,
                    timeout=upstream.timeout(budget),
                ) as response:
                    status = response.status
                    settled = True
                    if status in _FAILURE_STATUSES:
                        breaker.record_failure()
                        upstream.outcomes.error.inc()
                    else:
                        breaker.record_success()
                        upstream.outcomes.ok.inc()
                    if catalog is None or status < 500:
                        return await _relay(send, response, method, request_id, extra, catalog)
                # A failed catalog read: the answer is dropped for the fallback.
                problem = unavailable(upstream.name, 503)
                return await answer_failure(
                    send, problem, instance_path, request_id, extra, catalog
                )
            except _ClientGone:
                return CLIENT_CLOSED
            except PayloadTooLarge as exc:
                return await send_problem(send, exc, instance_path, request_id, extra)
            except TimeoutError:
                if settled:
                    raise
                settled = True
                if shortened and budget < _COUNTED_TIMEOUT_FLOOR_SECONDS:
                    breaker.release()
                    upstream.outcomes.deadline.inc()
                else:
                    breaker.record_failure()
                    upstream.outcomes.timeout.inc()
                _log.warning("upstream_timeout", service=upstream.name, request_id=request_id)
                problem = timed_out(upstream.name)
                return await answer_failure(
                    send, problem, instance_path, request_id, extra, catalog
                )
            except aiohttp.ClientError as exc:
                if settled:
                    raise
                # aiohttp wraps what the body generator raised; the flag says which case it was.
                if body is not None and body.too_large:
                    problem = too_large(max_body_bytes)
                    return await send_problem(send, problem, instance_path, request_id, extra)
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
        settled = True
        breaker.record_failure()
        upstream.outcomes.error.inc()
        problem = unavailable(upstream.name)
        return await answer_failure(send, problem, instance_path, request_id, extra, catalog)
    finally:
        if not settled:
            breaker.release()


async def _relay(
    send: Send,
    response: aiohttp.ClientResponse,
    method: str,
    request_id: str,
    extra: list[tuple[bytes, bytes]] | None,
    catalog: CatalogRead | None,
) -> int:
    headers = returned_headers(response.raw_headers)
    keep: list[bytes] | None = None
    if (
        catalog is not None
        and catalog.store
        and response.status == 200
        and catalog.cache.wants(catalog.key, response.content_length)
        and shareable(headers)
    ):
        keep = []
    elif catalog is not None and response.status in _GONE_STATUSES:
        catalog.cache.discard(catalog.key)
    headers.append((b"x-request-id", request_id.encode()))
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    try:
        complete = await _relay_body(send, response, method, keep, catalog)
    except (TimeoutError, aiohttp.ClientError) as exc:
        # Too late for a problem: the status line is out. Ending without completing the
        # response makes the server drop the connection, so the client sees a truncated body.
        _log.warning("upstream_body_failed", error=type(exc).__name__, request_id=request_id)
    else:
        if keep is not None and complete and catalog is not None:
            catalog.cache.put(catalog.key, b"".join(keep))
    return response.status


async def _relay_body(
    send: Send,
    response: aiohttp.ClientResponse,
    method: str,
    keep: list[bytes] | None,
    catalog: CatalogRead | None,
) -> bool:
    """Streams the body through (collecting it into `keep` if given, up to the catalog cache's
    size limit); False if it was cut short."""
    length = response.content_length
    if method == "HEAD" or response.status in _NO_BODY_STATUSES or length == 0:
        await send({"type": "http.response.body", "body": b""})
        return True
    content = response.content
    if length is not None:
        # The last chunk ends the response: no extra empty message.
        remaining = length
        while remaining > 0:
            chunk = await content.readany()
            if not chunk:
                return False
            remaining -= len(chunk)
            if keep is not None:
                keep.append(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        return True
    kept = 0
    limit = catalog.cache.max_body_bytes if catalog is not None else 0
    async for chunk in content.iter_any():
        if keep is not None:
            kept += len(chunk)
            if kept > limit:
                keep.clear()  # too big to be worth keeping (an empty body is never kept)
                keep = None
            else:
                keep.append(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
    return True
