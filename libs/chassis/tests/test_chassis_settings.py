"""Settings fail fast on missing or unsafe values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chassis import DatabaseSettings, ServiceSettings


def test_database_url_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ValidationError, match="database_url"):
        DatabaseSettings()


def test_database_url_must_be_asyncpg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@localhost/db")
    with pytest.raises(ValidationError, match="asyncpg"):
        DatabaseSettings()


def test_port_is_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("SERVICE_NAME", "x")
    assert ServiceSettings().port == 8123
    monkeypatch.setenv("PORT", "70000")
    with pytest.raises(ValidationError, match="port"):
        ServiceSettings()
