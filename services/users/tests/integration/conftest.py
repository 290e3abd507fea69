"""The real users app on a fresh PostgreSQL database, driven in-process over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bazaar_users.bootstrap import create_app
from bazaar_users.settings import Settings
from chassis import generate_private_key_pem

ADMIN_EMAIL = "admin@bazaar.local"
ADMIN_PASSWORD = "admin password for tests"
PASSWORD = "correct horse battery"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signing-key.pem"
    path.write_bytes(generate_private_key_pem())
    return path


@pytest.fixture
def settings(database_url: str, key_file: Path) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_private_key_file=key_file,
        environment="test",
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,  # type: ignore[arg-type]
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=60):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://users") as http:
        yield http


Post = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def admin_credentials() -> tuple[str, str]:
    return ADMIN_EMAIL, ADMIN_PASSWORD


@pytest.fixture
def user_rows(database_url: str) -> Callable[[], Awaitable[list[dict[str, object]]]]:
    """What the users table holds, read straight from the database."""

    async def rows() -> list[dict[str, object]]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(text("SELECT * FROM users ORDER BY created_at"))
                return [dict(row._mapping) for row in result]
        finally:
            await engine.dispose()

    return rows


@pytest.fixture
def register(client: httpx.AsyncClient) -> Post:
    async def post(email: str, password: str = PASSWORD) -> httpx.Response:
        return await client.post("/users", json={"email": email, "password": password})

    return post


@pytest.fixture
def login(client: httpx.AsyncClient) -> Post:
    async def post(email: str, password: str = PASSWORD) -> httpx.Response:
        return await client.post("/auth/token", json={"email": email, "password": password})

    return post
