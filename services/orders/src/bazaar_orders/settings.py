"""The orders service's configuration, read from environment variables (no prefix)."""

from __future__ import annotations

from pydantic import Field

from chassis import AuthSettings, DatabaseSettings, ServiceSettings


class Settings(ServiceSettings, DatabaseSettings, AuthSettings):
    service_name: str = "orders"
    # Base URL of the products service: the catalog (prices) and stock reservations.
    products_url: str
    # Per call; a placement makes at most three calls to products (price, reserve, release).
    products_timeout_seconds: float = Field(default=3.0, gt=0.0, le=60.0)
