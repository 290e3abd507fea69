"""The order SQL limit: pgbench replaying, per database, the statements one order issues there.

The scripts in `order_sql/` copy what the services send (captured with `log_statement=all` on a
bench system; see each file). They run on the system's own PostgreSQL, in the services' own
databases and roles, against copies of the services' tables in a schema of their own
(`bench_pgbench`: same columns, defaults, indexes and foreign keys, made with
`CREATE TABLE … (LIKE … INCLUDING ALL)`), so pgbench's rows never reach the running services'
outbox relays, saga runner or consumers.

An order needs its share of work in all four databases, so the limit is the rate at which
PostgreSQL completes one share in each, run one database after the other on the same server:
1 / Σ (1 / tps of each script).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg

from bazaar_local.system import System

from .processes import Children

SCHEMA = "bench_pgbench"
DATABASES = ("orders", "products", "payments", "notifications")
BENCH_PRODUCTS = 20  # the scripts pick md5(1..20)::uuid
_TPS = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)


class PgbenchError(RuntimeError):
    """pgbench failed or printed no rate."""


@dataclass(frozen=True)
class Dsn:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def parse(cls, url: str) -> Dsn:
        parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://"))
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/"),
        )

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"


def script_text(database: str) -> str:
    return (resources.files("bazaar_bench") / "order_sql" / f"{database}.sql").read_text(
        encoding="utf-8"
    )


async def _copy_tables(dsn: Dsn, database: str) -> None:
    """(Re)create `bench_pgbench` with empty copies of the service's tables."""
    conn = await asyncpg.connect(dsn.url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version' ORDER BY tablename"
            )
        ]
        foreign_keys = await conn.fetch(
            "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype = 'f' "
            "AND k.connamespace = 'public'::regnamespace"
        )
        async with conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            await conn.execute(f"CREATE SCHEMA {SCHEMA}")
            for table in tables:
                await conn.execute(
                    f'CREATE TABLE {SCHEMA}."{table}" (LIKE public."{table}" INCLUDING ALL)'
                )
            # The definitions name their targets unqualified: resolved in the copy's schema.
            await conn.execute(f"SET LOCAL search_path = {SCHEMA}")
            for table, name, definition in foreign_keys:
                await conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            if database == "products":
                await conn.execute(
                    "INSERT INTO products (product_id, sku, name, price, inventory) "
                    "SELECT md5(i::text)::uuid, 'PGBENCH-' || i, 'pgbench ' || i, 9.99, "
                    "1000000000 FROM generate_series(1, $1::int) AS i",
                    BENCH_PRODUCTS,
                )
    finally:
        await conn.close()


async def _drop_tables(dsn: Dsn) -> None:
    conn = await asyncpg.connect(dsn.url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await conn.close()


@dataclass
class PgbenchOrders:
    """Runs the order scripts against `system`'s PostgreSQL with `clients` connections."""

    binary: Path
    system: System
    children: Children
    work_dir: Path
    clients: int = 8

    def dsns(self) -> dict[str, Dsn]:
        return {db: Dsn.parse(self.system.database_urls[db]) for db in DATABASES}

    async def prepare(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for database, dsn in self.dsns().items():
            await _copy_tables(dsn, database)
            (self.work_dir / f"{database}.sql").write_text(script_text(database), "utf-8")

    async def cleanup(self) -> None:
        for dsn in self.dsns().values():
            await _drop_tables(dsn)

    def run_script(self, database: str, seconds: int) -> float:
        """One script for `seconds`: its rate, in script runs (orders' shares) per second."""
        dsn = self.dsns()[database]
        argv = [
            str(self.binary),
            "-h", dsn.host, "-p", str(dsn.port), "-U", dsn.user,
            "-n",  # no vacuum: there are no pgbench tables
            "-M", "prepared",  # as asyncpg does
            "-c", str(self.clients), "-j", "1",
            "-T", str(max(1, seconds)),
            "-f", str(self.work_dir / f"{database}.sql"),
            dsn.database,
        ]  # fmt: skip
        env = {
            "PGPASSWORD": dsn.password,
            "PGOPTIONS": f"-c search_path={SCHEMA}",
            "PATH": "/usr/bin:/bin",
        }
        result = self.children.run(argv, timeout=seconds + 60, env=env)
        found = _TPS.search(result.stdout)
        if result.returncode != 0 or found is None:
            raise PgbenchError(
                f"pgbench {database} failed ({result.returncode}):\n"
                f"{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
            )
        return float(found.group(1))

    async def measure(self, seconds_per_script: int) -> tuple[float, dict[str, float]]:
        """(orders/s the SQL allows, each database's script rate)."""
        rates: dict[str, float] = {}
        for database in DATABASES:
            rates[database] = await asyncio.to_thread(self.run_script, database, seconds_per_script)
        combined = 1 / sum(1 / r for r in rates.values()) if all(rates.values()) else 0.0
        return combined, rates
