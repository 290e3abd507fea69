"""Calling other services: a pooled aiohttp session per upstream (never httpx: DESIGN.md §7).

Every call has a timeout and carries the caller's request id. Connection failures and timeouts
become :class:`UpstreamUnavailable`, so callers handle "the other side is down" in one place.

    UpstreamError
    └── UpstreamUnavailable   could not connect, or no answer in time
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from .request_ids import REQUEST_ID_HEADER, current_request_id


class UpstreamError(Exception):
    def __init__(self, upstream: str, message: str) -> None:
        super().__init__(f"{upstream}: {message}")
        self.upstream = upstream


class UpstreamUnavailable(UpstreamError):
    pass


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ServiceClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout_seconds: float = 3.0,
        max_connections: int = 100,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _ensure_session(self) -> aiohttp.ClientSession:
        # Built lazily so the session binds to the running event loop, not the import-time one.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=30),
                timeout=self.timeout,
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> UpstreamResponse:
        sent_headers = dict(headers or {})
        request_id = current_request_id()
        if request_id:
            sent_headers.setdefault(REQUEST_ID_HEADER, request_id)
        data: bytes | None = None
        if json is not None:
            data = orjson.dumps(json)
            sent_headers.setdefault("content-type", "application/json")
        timeout = aiohttp.ClientTimeout(total=timeout_seconds) if timeout_seconds else None
        try:
            async with self._ensure_session().request(
                method,
                f"{self.base_url}{path}",
                data=data,
                params=params,
                headers=sent_headers,
                timeout=timeout or self.timeout,
            ) as response:
                body = await response.read()
                return UpstreamResponse(response.status, dict(response.headers), body)
        except TimeoutError as exc:
            raise UpstreamUnavailable(self.name, f"{method} {path} timed out") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(self.name, f"{method} {path} failed: {exc}") from exc

    async def get(self, path: str, **kwargs: Any) -> UpstreamResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> UpstreamResponse:
        return await self.request("POST", path, **kwargs)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
