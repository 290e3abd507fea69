"""One pooled aiohttp session per upstream service, and round robin over its instances."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence

import aiohttp
import yarl

from .settings import Settings

HEALTH_TIMEOUT_SECONDS = 2.0


class Instance:
    """One base URL of a service, pre-split so building a target URL parses nothing."""

    __slots__ = ("authority", "base", "prefix", "scheme")

    def __init__(self, base: str) -> None:
        url = yarl.URL(base)
        self.base = base
        self.scheme = url.scheme
        self.authority = url.raw_authority
        self.prefix = url.raw_path.rstrip("/")

    def url(self, raw_path: str, query_string: str) -> yarl.URL:
        return yarl.URL.build(
            scheme=self.scheme,
            authority=self.authority,
            path=self.prefix + raw_path,
            query_string=query_string,
            encoded=True,
        )


class Upstream:
    __slots__ = ("_cycle", "instances", "name", "session")

    def __init__(self, name: str, bases: Sequence[str], session: aiohttp.ClientSession) -> None:
        if not bases:
            raise ValueError(f"upstream {name} has no base URL")
        self.name = name
        self.instances = tuple(Instance(b) for b in bases)
        self.session = session
        self._cycle = itertools.cycle(self.instances)

    def next_instance(self) -> Instance:
        return next(self._cycle)

    async def check(self) -> str:
        """ "ok" when every instance's `/health` answers 200, else why not (no addresses)."""
        results = await asyncio.gather(*(self._alive(i) for i in self.instances))
        failures = [r for r in results if r is not None]
        if not failures:
            return "ok"
        return f"failed: {len(failures)} of {len(results)} instances: {'; '.join(failures)}"

    async def _alive(self, instance: Instance) -> str | None:
        try:
            async with self.session.get(
                instance.url("/health", ""),
                timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS),
                allow_redirects=False,
            ) as response:
                await response.read()
                return None if response.status == 200 else f"status {response.status}"
        except TimeoutError:
            return "timed out"
        except aiohttp.ClientError as exc:
            return type(exc).__name__

    async def close(self) -> None:
        await self.session.close()


def open_session(settings: Settings) -> aiohttp.ClientSession:
    """Call inside the running loop (the lifespan): the session binds to it."""
    connector = aiohttp.TCPConnector(
        limit=settings.upstream_max_connections,
        limit_per_host=0,
        keepalive_timeout=settings.upstream_keepalive_seconds,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(
            total=None,
            # Bounds waiting for a pooled connection as well as opening one.
            connect=settings.upstream_timeout_seconds,
            sock_connect=settings.upstream_connect_timeout_seconds,
            sock_read=settings.upstream_timeout_seconds,
        ),
        # Bodies pass through as the upstream encoded them.
        auto_decompress=False,
        # A shared session must never replay one client's cookies to another.
        cookie_jar=aiohttp.DummyCookieJar(),
        # Forward the client's headers only, never aiohttp's defaults in their place.
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        raise_for_status=False,
    )


def open_upstreams(
    settings: Settings, services: Mapping[str, Sequence[str]]
) -> dict[str, Upstream]:
    return {name: Upstream(name, bases, open_session(settings)) for name, bases in services.items()}
