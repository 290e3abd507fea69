"""The payments service's configuration, read from environment variables (no prefix)."""

from __future__ import annotations

from pydantic import Field

from chassis import AuthSettings, DatabaseSettings, MessagingSettings, ServiceSettings


# AuthSettings: payments has no user-facing routes, but its operators' endpoints
# (/admin/faults) take an admin token like every other service's.
class Settings(ServiceSettings, DatabaseSettings, MessagingSettings, AuthSettings):
    service_name: str = "payments"
    # The simulated processor's delay on every authorization (PROCESSOR_LATENCY_MS).
    processor_latency_ms: int = Field(default=0, ge=0, le=60_000)
    # How long tok_timeout makes the simulated processor hang: longer than any caller waits.
    processor_timeout_seconds: float = Field(default=30.0, ge=0.0, le=3600.0)
