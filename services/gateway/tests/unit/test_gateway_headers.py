"""Which headers cross the gateway: hop-by-hop ones never do, forwarding ones are the gateway's."""

from __future__ import annotations

from bazaar_gateway.headers import ForwardedRequest, returned_headers

OURS = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _forwarded(raw: list[tuple[bytes, bytes]], **kwargs: object) -> ForwardedRequest:
    options: dict[str, object] = {
        "client_host": "10.0.0.7",
        "scheme": "https",
        "request_id": "r1",
        "trace_headers": {"traceparent": OURS},
    }
    options.update(kwargs)
    return ForwardedRequest(raw, **options)  # type: ignore[arg-type]


def test_hop_by_hop_request_headers_and_those_named_in_connection_are_dropped() -> None:
    request = _forwarded(
        [
            (b"host", b"shop.example"),
            (b"connection", b"keep-alive, X-Hop"),
            (b"keep-alive", b"timeout=5"),
            (b"x-hop", b"secret"),
            (b"te", b"trailers"),
            (b"trailer", b"x-checksum"),
            (b"upgrade", b"h2c"),
            (b"proxy-authorization", b"Basic Zm9vOmJhcg=="),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", b"Bearer abc"),
            (b"accept", b"application/json"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ]
    )
    names = [name for name, _ in request.headers]
    for dropped in ("host", "connection", "keep-alive", "x-hop", "te", "trailer", "upgrade",
                    "proxy-authorization", "transfer-encoding"):  # fmt: skip
        assert dropped not in names
    assert ("authorization", "Bearer abc") in request.headers
    assert ("accept", "application/json") in request.headers
    assert [v for k, v in request.headers if k == "cookie"] == ["a=1", "b=2"]
    assert request.has_body  # chunked upload


def test_forwarding_headers_are_set_by_the_gateway() -> None:
    request = _forwarded(
        [
            (b"host", b"shop.example"),
            (b"x-forwarded-for", b"203.0.113.9"),
            (b"x-forwarded-proto", b"gopher"),
            (b"x-forwarded-host", b"evil.example"),
            (b"x-request-id", b"client-id"),
        ]
    )
    headers = dict(request.headers)
    assert headers["x-forwarded-for"] == "203.0.113.9, 10.0.0.7"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-host"] == "shop.example"
    assert headers["x-request-id"] == "r1"
    assert headers["traceparent"] == OURS
    assert len(request.headers) == 5


def test_the_client_trace_headers_are_replaced_by_the_gateway_span() -> None:
    # The client's context is the gateway span's parent; upstreams hear of the gateway's span.
    request = _forwarded(
        [
            (b"traceparent", b"00-11111111111111111111111111111111-2222222222222222-01"),
            (b"tracestate", b"vendor=x"),
            (b"x-amzn-trace-id", b"Root=1-5759e988-bd862e3fe1be46a994272793"),
        ]
    )
    assert [(k, v) for k, v in request.headers if "trace" in k] == [("traceparent", OURS)]


def test_body_presence_follows_content_length() -> None:
    assert _forwarded([(b"content-length", b"12")]).has_body
    assert _forwarded([(b"content-length", b"12")]).content_length == 12
    assert not _forwarded([(b"content-length", b"0")]).has_body
    assert not _forwarded([]).has_body


def test_hop_by_hop_response_headers_are_dropped_and_names_lowered() -> None:
    returned = returned_headers(
        [
            (b"Content-Type", b"application/json"),
            (b"Location", b"/orders/1"),
            (b"Connection", b"X-Upstream-Hop"),
            (b"X-Upstream-Hop", b"1"),
            (b"Keep-Alive", b"timeout=99"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Proxy-Authenticate", b"Basic"),
            (b"Date", b"Sun, 22 Nov 2026 17:40:07 GMT"),
            (b"Set-Cookie", b"a=1"),
            (b"Set-Cookie", b"b=2"),
        ]
    )
    assert returned == [
        (b"content-type", b"application/json"),
        (b"location", b"/orders/1"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
