"""Calls to a service orders depends on, with its failures read as the domain's errors.

"Could not reach it", a timeout, an open circuit breaker, a 5xx or a 429 become
DependencyUnavailable (worth retrying later); an answer the contract does not allow becomes
DependencyContractError. What each answer means is the adapter's business.
"""

from __future__ import annotations

from typing import Any

from bazaar_orders.domain import DependencyContractError, DependencyUnavailable
from chassis import ServiceClient, UpstreamResponse, UpstreamUnavailable


class Dependency:
    def __init__(self, name: str, client: ServiceClient) -> None:
        self.name = name
        self._client = client

    async def call(self, method: str, path: str, **kwargs: Any) -> UpstreamResponse:
        """The answer, unless the service is unavailable (DependencyUnavailable)."""
        try:
            response = await self._client.request(method, path, **kwargs)
        except UpstreamUnavailable as exc:
            raise DependencyUnavailable(self.name, str(exc)) from exc
        if response.status >= 500 or response.status == 429:
            raise DependencyUnavailable(self.name, f"{method} {path} answered {response.status}")
        return response

    def unexpected(
        self, method: str, path: str, response: UpstreamResponse
    ) -> DependencyContractError:
        return DependencyContractError(
            self.name, f"{method} {path} answered {response.status}: {response.body[:300]!r}"
        )
