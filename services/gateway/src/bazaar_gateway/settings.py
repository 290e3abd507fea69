"""The gateway's configuration, read from environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from chassis import AuthSettings, ServiceSettings
from chassis.resilience_settings import ResilienceSettings

from .client_identity import Network, parse_networks
from .rate_limits import LimitRule

# Per client (token subject, else address). Generous for a person browsing, and for the system
# tests, which all come from one loopback address and poll orders in bursts; the credential
# endpoints refill slowly, as guessing passwords is what they invite (bursts allow a test batch
# of sign-ups). Production tightens them through RATE_LIMITS.
DEFAULT_RATE_LIMITS = {
    "default": LimitRule(rate=100, burst=200),
    "POST /auth/token": LimitRule(rate=5, burst=50),
    "POST /users": LimitRule(rate=5, burst=50),
}


class Settings(ServiceSettings, AuthSettings, ResilienceSettings):
    service_name: str = "gateway"
    # The folder of `<service>.json` OpenAPI documents the route table is built from.
    openapi_dir: Path
    # Base URLs per upstream; a comma-separated list is load-balanced round robin.
    users_url: str | None = None
    products_url: str | None = None
    orders_url: str | None = None
    notifications_url: str | None = None
    # No payments_url: payments has only internal routes, which the gateway never routes.
    upstream_timeout_seconds: float = Field(default=10.0, gt=0)
    upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    upstream_max_connections: int = Field(default=1000, ge=1)
    # Below uvicorn's default 5 s keep-alive, so an idle pooled connection is dropped by us
    # before the upstream closes it under our feet.
    upstream_keepalive_seconds: float = Field(default=4.0, gt=0)
    # Which requests get an access-log line: a JSON line per request costs more CPU than the
    # routing itself, and every upstream already logs each request under the same request id.
    access_log: Literal["all", "errors", "off"] = "errors"
    # JSON: {"default": {"rate": 20, "burst": 40}, "POST /auth/token": {"rate": 1, "burst": 5}};
    # keys are "METHOD /path-template" as in the contracts; rate in requests per second.
    rate_limits: dict[str, LimitRule] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    # Buckets kept per limit at most (about 100 bytes each); idle full buckets are dropped.
    rate_limit_max_buckets: int = Field(default=50_000, ge=100)
    # Comma-separated addresses or networks of proxies in front of the gateway whose
    # X-Forwarded-For is believed (for the client address rate limits key on). Empty: none.
    trusted_proxies: str = ""
    # The catalog fallback: last good answers kept, and the largest body worth keeping.
    catalog_cache_entries: int = Field(default=1000, ge=0)
    catalog_cache_max_body_bytes: int = Field(default=262_144, ge=1024)
    # The gateway fans in every client, so its own share of the resilience limits is larger
    # than a service's defaults (same variables, other defaults).
    bulkhead_max_concurrent: int = Field(default=512, ge=1)
    max_inflight_requests: int = Field(default=1024, ge=1)

    @model_validator(mode="after")
    def _valid_urls(self) -> Settings:
        for service, urls in self.upstream_urls().items():
            for url in urls:
                if not url.startswith(("http://", "https://")):
                    raise ValueError(f"{service.upper()}_URL: {url!r} is not an http(s) URL")
        if "default" not in self.rate_limits:
            raise ValueError("RATE_LIMITS needs a 'default' entry")
        for key in self.rate_limits:
            method, _, template = key.partition(" ")
            if key != "default" and (not method.isupper() or not template.startswith("/")):
                raise ValueError(f"RATE_LIMITS: {key!r} is not 'default' or 'METHOD /path'")
        self.trusted_networks()
        return self

    def trusted_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies.split(","))

    def upstream_urls(self) -> dict[str, tuple[str, ...]]:
        """Configured upstreams: service name → its base URLs (without trailing slash)."""
        configured = {
            "users": self.users_url,
            "products": self.products_url,
            "orders": self.orders_url,
            "notifications": self.notifications_url,
        }
        urls: dict[str, tuple[str, ...]] = {}
        for service, value in configured.items():
            bases = tuple(u.strip().rstrip("/") for u in (value or "").split(",") if u.strip())
            if bases:
                urls[service] = bases
        return urls
