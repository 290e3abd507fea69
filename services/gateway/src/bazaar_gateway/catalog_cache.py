"""The catalog fallback: the last good answer of each catalog read, for when products fails.

Only `GET /products` (one entry per full query string) and `GET /products/{id}` are kept, only
200 JSON objects that were meant for anyone (an anonymous request; no `Set-Cookie`, no
`Cache-Control: private/no-store`, no content encoding), in a bounded LRU. A fresh answer is
relayed untouched; the copy is kept as raw bytes. Only when it is served (rare) is it parsed and
marked `"cached": true`, with `Age` saying how old it is. A key is refreshed at most once a
`refresh_seconds` (a second by default), so a hot page costs a dict lookup, not a copy, on most
reads.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

import orjson

from chassis.admission import ThrottledLog

Clock = Callable[[], float]
# The shapes of the two catalog reads, whatever the contract calls the parameter.
_CATALOG_TEMPLATE = re.compile(r"/products(/\{[^{}/]+\})?")
_NOT_SHARED = re.compile(rb"(?i)\b(private|no-store)\b")


def is_catalog_read(method: str, service: str, template: str) -> bool:
    return (
        method == "GET"
        and service == "products"
        and _CATALOG_TEMPLATE.fullmatch(template) is not None
    )


def shareable(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a 200 from products may be kept and served to other clients later."""
    json = False
    for name, value in headers:
        if name == b"content-type":
            json = value.split(b";", 1)[0].strip().lower() == b"application/json"
        elif name in (b"set-cookie", b"content-encoding") or (
            name == b"cache-control" and _NOT_SHARED.search(value)
        ):
            return False
    return json


def mark_cached(body: bytes) -> bytes | None:
    """The body with `"cached": true` added at the top level; None if it is not a JSON object."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    document["cached"] = True
    return orjson.dumps(document)


class CatalogCache:
    def __init__(
        self,
        *,
        max_entries: int,
        max_body_bytes: int,
        refresh_seconds: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_body_bytes = max_body_bytes
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self.served_log = ThrottledLog("fallback_served", clock=clock)

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(path: str, query_string: bytes) -> str:
        return f"{path}?{query_string.decode('latin-1')}" if query_string else path

    def wants(self, key: str, length: int | None) -> bool:
        """Worth collecting this answer: a body of this declared length (None: unknown, maybe)
        for a key not refreshed within `refresh_seconds`."""
        if length is not None and not 0 < length <= self.max_body_bytes:
            return False
        entry = self._entries.get(key)
        return entry is None or self.clock() - entry[1] >= self.refresh_seconds

    def put(self, key: str, body: bytes) -> None:
        # A JSON object or nothing: cheap check here, the real parse only when served.
        if not body or len(body) > self.max_body_bytes:
            return
        if body[:1] != b"{" and body.lstrip()[:1] != b"{":
            return
        entries = self._entries
        entries[key] = (body, self.clock())
        entries.move_to_end(key)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)

    def discard(self, key: str) -> None:
        """Forget an answer the upstream has since said is gone (404/410): a product deleted
        before an outage must not come back during it."""
        self._entries.pop(key, None)

    def get(self, key: str) -> tuple[bytes, int] | None:
        """The marked body and its age in whole seconds, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        marked = mark_cached(entry[0])
        if marked is None:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return marked, int(self.clock() - entry[1])


class Counter(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class CatalogRead:
    """One catalog read on its way: where its fallback is, and whether its answer may be kept
    (only answers to anonymous requests are, so nobody's own view is served to others)."""

    __slots__ = ("cache", "key", "route", "served", "store")

    def __init__(
        self, cache: CatalogCache, key: str, *, route: str, store: bool, served: Counter
    ) -> None:
        self.cache = cache
        self.key = key
        self.route = route
        self.store = store
        self.served = served
