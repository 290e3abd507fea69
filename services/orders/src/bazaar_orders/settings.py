"""The orders service's configuration, read from environment variables (no prefix)."""

from __future__ import annotations

from pydantic import Field, model_validator

from chassis import AuthSettings, DatabaseSettings, MessagingSettings, ServiceSettings
from chassis.resilience_settings import ResilienceSettings


class Settings(
    ServiceSettings, DatabaseSettings, AuthSettings, MessagingSettings, ResilienceSettings
):
    service_name: str = "orders"
    # Base URL of the products service: the catalog (prices) and stock reservations.
    products_url: str
    # Per call to products (price, reserve, release).
    products_timeout_seconds: float = Field(default=3.0, gt=0.0, le=60.0)
    # Base URL of the payments service (authorize, capture, void, refund).
    payments_url: str
    payments_timeout_seconds: float = Field(default=3.0, gt=0.0, le=60.0)
    # A saga still short of an authorization this long after placement compensates and
    # rejects the order (timed_out) instead of retrying further.
    saga_deadline_seconds: float = Field(default=900.0, gt=0.0)
    # How often the sweeper looks for due sagas (retries, and those whose runner died).
    saga_sweep_seconds: float = Field(default=1.0, gt=0.0, le=300.0)
    # How long a runner holds a saga before another may take it over: renewed after every
    # step, so it only has to outlast one call; it is also how long a saga whose process died
    # mid-step waits before another process resumes it.
    saga_lease_seconds: float = Field(default=10.0, ge=1.0, le=3600.0)
    # Sagas this process advances at once.
    saga_concurrency: int = Field(default=16, ge=1, le=1000)

    @model_validator(mode="after")
    def _lease_outlasts_a_step(self) -> Settings:
        # The lease is renewed after every step; one step (one call) must fit well inside it.
        slowest = max(self.products_timeout_seconds, self.payments_timeout_seconds)
        if self.saga_lease_seconds < 2 * slowest:
            raise ValueError("SAGA_LEASE_SECONDS must be at least twice the longest call timeout")
        return self
