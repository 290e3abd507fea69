"""Settings for resilience under failure and overload: a mixin for a service's ``Settings``.

Defaults are the reference design's (3 s call timeout is each client's own setting; breaker
opens at 50% failures over 10 s with at least 10 calls and half-opens after 30 s).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ResilienceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    # Circuit breaker, per upstream.
    breaker_failure_ratio: float = Field(default=0.5, gt=0.0, le=1.0)
    breaker_window_seconds: float = Field(default=10.0, gt=0.0, le=3600.0)
    breaker_min_calls: int = Field(default=10, ge=1)
    breaker_open_seconds: float = Field(default=30.0, ge=0.0, le=3600.0)
    # Attempts per call (1 = no retries); retries are only made where they are safe.
    retry_max_attempts: int = Field(default=3, ge=1, le=10)
    # Retries allowed per request made (plus a small floor rate), so outages cannot turn into
    # retry storms.
    retry_budget_ratio: float = Field(default=0.2, ge=0.0, le=1.0)
    # Calls in flight at once per upstream, and how long one more may wait for a slot before
    # it fails fast: a short wait absorbs bursts, a bounded one keeps a slow upstream from
    # tying up every caller.
    bulkhead_max_concurrent: int = Field(default=64, ge=1)
    bulkhead_max_wait_seconds: float = Field(default=1.0, ge=0.0, le=60.0)
