"""Which headers cross the gateway, both ways.

Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message, so they are
dropped, together with any header the sender named in `Connection`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Also set by the gateway itself (or by aiohttp/uvicorn), so the client's values never pass:
# Host is the upstream's, Expect was answered by our server, the X-Forwarded-* are ours, and
# the deadline is sent on as what is left of it when the call is made.
_NOT_FORWARDED = HOP_BY_HOP | {
    b"host",
    b"expect",
    b"x-request-id",
    b"x-request-deadline-ms",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    b"traceparent",
    b"tracestate",
    b"x-amzn-trace-id",
}
# Our server adds its own Date; the request and trace ids are the gateway's to answer with.
_NOT_RETURNED = HOP_BY_HOP | {b"date", b"x-request-id", b"x-trace-id"}


def connection_tokens(value: bytes) -> frozenset[bytes]:
    return frozenset(t.strip().lower() for t in value.split(b",") if t.strip())


class ForwardedRequest:
    """What the request-line-independent part of the upstream request carries."""

    __slots__ = ("content_length", "has_body", "headers")

    def __init__(
        self,
        raw: Iterable[tuple[bytes, bytes]],
        *,
        client_host: str | None,
        scheme: str,
        request_id: str,
        trace_headers: Mapping[str, str],
    ) -> None:
        headers: list[tuple[str, str]] = []
        connection: bytes | None = None
        host: bytes | None = None
        forwarded_for: bytes | None = None
        content_length: int | None = None
        chunked = False
        for name, value in raw:
            if name in _NOT_FORWARDED:
                if name == b"connection":
                    connection = value
                elif name == b"host":
                    host = value
                elif name == b"x-forwarded-for":
                    forwarded_for = value
                elif name == b"transfer-encoding":
                    chunked = True
                continue
            if name == b"content-length":
                content_length = int(value) if value.isdigit() else None
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        if connection is not None:
            named = connection_tokens(connection)
            headers = [(k, v) for k, v in headers if k.encode("latin-1") not in named]
        headers.append(("x-request-id", request_id))
        # The gateway's span is the upstream's parent (the client's trace context, if any, is
        # the gateway span's parent), so the trace headers are always ours.
        headers.extend(trace_headers.items())
        if client_host:
            chain = forwarded_for.decode("latin-1") + ", " if forwarded_for else ""
            headers.append(("x-forwarded-for", chain + client_host))
        headers.append(("x-forwarded-proto", scheme))
        if host is not None:
            headers.append(("x-forwarded-host", host.decode("latin-1")))
        self.headers = headers
        self.content_length = content_length
        self.has_body = chunked or bool(content_length)


def returned_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream response's headers as the client gets them (names lower-cased for ASGI)."""
    headers: list[tuple[bytes, bytes]] = []
    connection: bytes | None = None
    for name, value in raw:
        lowered = name.lower()
        if lowered in _NOT_RETURNED:
            if lowered == b"connection":
                connection = value
            continue
        headers.append((lowered, value))
    if connection is not None:
        named = connection_tokens(connection)
        headers = [(k, v) for k, v in headers if k not in named]
    return headers
