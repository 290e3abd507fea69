"""The notifications service's configuration, read from environment variables (no prefix)."""

from __future__ import annotations

from chassis import AuthSettings, DatabaseSettings, MessagingSettings, ServiceSettings


class Settings(ServiceSettings, DatabaseSettings, AuthSettings, MessagingSettings):
    service_name: str = "notifications"
