"""The admin bootstrap on a real database, across restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager

from bazaar_users.bootstrap import create_app
from bazaar_users.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def reconfigured(settings: Settings, **changes: str) -> Settings:
    # Through the constructor, so the new values are validated like the environment's.
    return Settings(**{**settings.model_dump(), **changes})


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=60),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://users") as http,
    ):
        yield http


async def roles_after_login(http: httpx.AsyncClient, email: str, password: str) -> list[str]:
    response = await http.post("/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["accessToken"], options={"verify_signature": False})
    roles: list[str] = claims["roles"]
    return roles


async def test_restarts_keep_one_admin_and_its_password(
    settings: Settings, admin_credentials: tuple[str, str], user_rows
) -> None:
    email, password = admin_credentials
    async with running(settings):
        pass
    changed = reconfigured(settings, admin_password="a brand new password")
    async with running(changed) as http:
        assert await roles_after_login(http, email, password) == ["admin"]
        refused = await http.post(
            "/auth/token", json={"email": email, "password": "a brand new password"}
        )
        assert refused.status_code == 401

    rows = await user_rows()
    assert [(r["email"], r["roles"]) for r in rows] == [(email, ["admin"])]


async def test_an_existing_account_is_promoted_not_reset(settings: Settings, user_rows) -> None:
    async with running(settings) as http:
        created = await http.post(
            "/users", json={"email": "boss@example.com", "password": PASSWORD}
        )
        assert created.status_code == 201

    promoted = reconfigured(
        settings, admin_email="BOSS@example.com", admin_password="ignored password"
    )
    async with running(promoted) as http:
        assert await roles_after_login(http, "boss@example.com", PASSWORD) == ["admin"]

    rows = {r["email"]: r for r in await user_rows()}
    assert (
        rows["boss@example.com"]["user_id"] == created.json()["userId"]
        or str(rows["boss@example.com"]["user_id"]) == created.json()["userId"]
    )
    assert rows["boss@example.com"]["roles"] == ["admin"]
    assert rows["boss@example.com"]["updated_at"] > rows["boss@example.com"]["created_at"]
