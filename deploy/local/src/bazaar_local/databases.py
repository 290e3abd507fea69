"""One role and one database per service, created over TCP as the superuser."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import asyncpg

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _check_identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"not a plain lowercase PostgreSQL identifier: {value!r}")
    return value


def database_url(port: int, name: str, role: str, password: str) -> str:
    """The SQLAlchemy-style URL services are given."""
    return (
        f"postgresql+asyncpg://{quote(role, safe='')}:{quote(password, safe='')}"
        f"@127.0.0.1:{port}/{quote(name, safe='')}"
    )


async def _execute_formatted(conn: Any, template: str, *args: str) -> None:
    # DDL takes no bind parameters; the server's format() quotes identifiers and literals.
    placeholders = ", ".join(f"${i}::text" for i in range(2, len(args) + 2))
    statement: str = await conn.fetchval(
        f"SELECT format($1::text, {placeholders})", template, *args
    )
    await conn.execute(statement)


async def ensure_database(admin_dsn: str, name: str, role: str, password: str) -> None:
    """Idempotently make `role` (with `password`) own database `name`, closed to everyone else."""
    _check_identifier(name)
    _check_identifier(role)
    conn = await asyncpg.connect(admin_dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            # Keep the password in step with the launcher's secrets file.
            await _execute_formatted(conn, "ALTER ROLE %I WITH LOGIN PASSWORD %L", role, password)
        else:
            await _execute_formatted(conn, "CREATE ROLE %I WITH LOGIN PASSWORD %L", role, password)
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await _execute_formatted(conn, "ALTER DATABASE %I OWNER TO %I", name, role)
        else:
            # template0 avoids failing when another session happens to be in template1.
            await _execute_formatted(
                conn, "CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING 'UTF8'", name, role
            )
        await _execute_formatted(conn, "REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC", name)
        await _execute_formatted(conn, "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I", name, role)
    finally:
        await conn.close()


async def drop_database(admin_dsn: str, name: str, role: str) -> None:
    """Drop database `name` (closing its sessions) and then `role`, if they exist."""
    _check_identifier(name)
    _check_identifier(role)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await _execute_formatted(conn, "DROP DATABASE IF EXISTS %I WITH (FORCE)", name)
        await _execute_formatted(conn, "DROP ROLE IF EXISTS %I", role)
    finally:
        await conn.close()
