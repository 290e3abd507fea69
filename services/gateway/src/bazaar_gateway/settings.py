"""The gateway's configuration, read from environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from chassis import AuthSettings, ServiceSettings


class Settings(ServiceSettings, AuthSettings):
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

    @model_validator(mode="after")
    def _valid_urls(self) -> Settings:
        for service, urls in self.upstream_urls().items():
            for url in urls:
                if not url.startswith(("http://", "https://")):
                    raise ValueError(f"{service.upper()}_URL: {url!r} is not an http(s) URL")
        return self

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
