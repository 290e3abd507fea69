"""The products service's configuration, read from the environment (no prefix)."""

from __future__ import annotations

from chassis import AuthSettings, DatabaseSettings, MessagingSettings, ServiceSettings


class Settings(ServiceSettings, DatabaseSettings, AuthSettings, MessagingSettings):
    service_name: str = "products"
    # The local launcher turns this on so a fresh install has something to browse and order.
    seed_demo_catalog: bool = False
