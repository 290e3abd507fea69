"""A real PostgreSQL: the cluster lifecycle, and one private database per service."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from bazaar_local.ports import free_port
from bazaar_local.postgres import PostgresServer

pytestmark = pytest.mark.integration


def plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def test_cluster_lifecycle(bazaar_data_dir: Path) -> None:
    server = PostgresServer(bazaar_data_dir / "postgres", free_port(), fast=True)
    server.init()
    password = server.password
    server.init()  # once only: the second call keeps the cluster and its password

    assert server.password == password
    assert server.password_file.stat().st_mode & 0o777 == 0o600
    assert not server.is_running()
    server.start()
    try:
        server.wait_ready()
        assert server.is_running()
        url = server.ensure_database_sync("shop", "shop", "pw-shop")
        assert url == f"postgresql+asyncpg://shop:pw-shop@127.0.0.1:{server.port}/shop"
    finally:
        server.stop()
    assert not server.is_running()
    server.stop()  # idempotent

    # Data survives a restart.
    server.start()
    try:
        server.wait_ready()
        assert server.ensure_database_sync("shop", "shop", "pw-shop") == url
    finally:
        server.stop()


async def test_each_role_reaches_only_its_own_database(postgres_server: PostgresServer) -> None:
    users_url = await postgres_server.ensure_database("users_t", "users_t", "pw-users")
    again = await postgres_server.ensure_database("users_t", "users_t", "pw-users")
    products_url = await postgres_server.ensure_database("products_t", "products_t", "pw-prod")
    try:
        assert again == users_url
        conn = await asyncpg.connect(plain_dsn(users_url))
        try:
            owner = await conn.fetchval(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
            )
            assert owner == "users_t"
            await conn.execute("CREATE TABLE account (id int PRIMARY KEY)")
        finally:
            await conn.close()

        intruder = plain_dsn(products_url).replace("products_t:pw-prod", "users_t:pw-users")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await asyncpg.connect(intruder)
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(plain_dsn(users_url).replace("pw-users", "wrong"))
    finally:
        await postgres_server.drop_database("users_t", "users_t")
        await postgres_server.drop_database("products_t", "products_t")


async def test_password_follows_the_secrets_file(postgres_server: PostgresServer) -> None:
    await postgres_server.ensure_database("rotating", "rotating", "old")
    url = await postgres_server.ensure_database("rotating", "rotating", "new")
    try:
        conn = await asyncpg.connect(plain_dsn(url))
        await conn.close()
    finally:
        await postgres_server.drop_database("rotating", "rotating")


async def test_database_url_fixture_gives_an_empty_usable_database(database_url: str) -> None:
    assert database_url.startswith("postgresql+asyncpg://")
    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert tables == []
        await conn.execute("CREATE TABLE item (id int PRIMARY KEY)")
        await conn.execute("INSERT INTO item VALUES (1)")
        assert await conn.fetchval("SELECT count(*) FROM item") == 1
    finally:
        await conn.close()


def test_database_url_fixture_works_in_sync_tests(database_url: str) -> None:
    assert database_url.count("/") == 3
