"""Pytest plugin (loaded by the root conftest.py): a real PostgreSQL and a fresh database per test.

Fixtures:
- `postgres_server` (session): a throwaway, durability-off PostgreSQL on a free port.
- `database_url` (function): a new empty database with its own role, as a
  `postgresql+asyncpg://` URL; dropped afterwards.
- `eventually` (function): waits for a condition with a deadline.
- `nats_server` (function): a real NATS JetStream on a free port with its own store.
- `bazaar_data_dir` (function): an empty data folder usable by `System` (its parents are
  traversable by the `postgres` account, which pytest's own tmp_path is not when run as root).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bazaar_local.nats import NatsServer
from bazaar_local.ports import free_port
from bazaar_local.postgres import PostgresError, PostgresServer
from bazaar_local.run_async import run_coroutine

__all__ = [
    "bazaar_data_dir",
    "database_url",
    "eventually",
    "free_port",
    "nats_server",
    "postgres_server",
]

POLL_SECONDS = 0.02  # how often a condition-wait looks again

_START_ATTEMPTS = 3


def make_shared_temp_dir(prefix: str) -> Path:
    """A temp dir that the `postgres` account can traverse (mkdtemp makes it 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def start_ephemeral_postgres(root: Path) -> PostgresServer:
    """A fast PostgreSQL under `root`, retrying on another port if the free one got taken."""
    last_error: PostgresError | None = None
    for _ in range(_START_ATTEMPTS):
        server = PostgresServer(root, free_port(), fast=True)
        server.init()
        server.start()
        try:
            server.wait_ready()
        except PostgresError as error:
            server.stop()
            last_error = error
            continue
        return server
    assert last_error is not None
    raise last_error


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    root = make_shared_temp_dir("bazaar-pg-")
    server: PostgresServer | None = None
    try:
        server = start_ephemeral_postgres(root)
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:20]}"
    url = postgres_server.ensure_database_sync(name, name, secrets.token_urlsafe(16))
    yield url
    # Best effort: a test that leaks a connection must not fail because of its cleanup.
    with contextlib.suppress(Exception):
        run_coroutine(lambda: postgres_server.drop_database(name, name))


@pytest.fixture
def eventually() -> Callable[..., Awaitable[Any]]:
    """Polls a probe (sync or async) until it returns something truthy, which it returns; fails
    when ``within`` seconds pass first. The way tests wait: on a condition, never a fixed sleep."""

    async def wait(probe: Callable[[], Any], *, within: float = 30.0) -> Any:
        deadline = time.monotonic() + within
        while True:
            result = probe()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"still {result!r} after {within}s")
            await asyncio.sleep(POLL_SECONDS)

    return wait


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    """A real NATS JetStream on a free port with a store of its own; stopped afterwards."""
    root = Path(tempfile.mkdtemp(prefix="bazaar-nats-"))
    server = NatsServer(root / "store", free_port(), log_file=root / "nats.log")
    server.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def bazaar_data_dir() -> Iterator[Path]:
    root = make_shared_temp_dir("bazaar-data-")
    try:
        yield root / "data"
    finally:
        shutil.rmtree(root, ignore_errors=True)
