"""Wiring: settings in, a FastAPI app out. Resources are made in the lifespan, not here."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from chassis import (
    Broker,
    CloudEvent,
    EventConsumer,
    EventSchemas,
    NatsBroker,
    OutboxRelay,
    ServiceClient,
    TokenVerifier,
    create_service_app,
    owned_database,
)
from chassis.http_client import UpstreamPolicy

from .adapters.payments_http import HttpPayments
from .adapters.products_http import HttpCatalog, HttpInventory
from .adapters.sql_orders import SqlUnitOfWork
from .api import router
from .order_events import ORDER_PLACED
from .ports import Catalog, Inventory, Payments, UnitOfWork
from .saga_driver import SagaDriver
from .saga_runner import SagaRunner
from .settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# How long start-up waits for NATS before serving anyway (the outbox keeps events meanwhile).
BROKER_CONNECT_WAIT_SECONDS = 2.0
SAGA_CONSUMER = "orders-saga"


def _runner_identity(settings: Settings) -> str:
    """Names this process in lease_owner: who holds a saga, and unique per start."""
    return f"{settings.service_name}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def create_app(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    inventory: Inventory | None = None,
    payments: Payments | None = None,
    broker: Broker | None = None,
    token_verifier: TokenVerifier | None = None,
    start_background: bool = True,
) -> FastAPI:
    """``catalog``/``inventory``/``payments``/``broker``/``token_verifier`` replace the real
    ones (tests). ``start_background=False`` starts no relay, consumer, sweeper or kicks, so a
    test drives ``app.state.saga_runner`` / ``saga_driver`` / ``relay`` itself."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(
                owned_database(app, settings, MIGRATIONS_DIR)
            )
            schemas = EventSchemas.load(settings.event_schemas_dir)
            publisher = broker
            nats: NatsBroker | None = None
            if publisher is None:
                nats = NatsBroker(settings.nats_url, name=settings.service_name)
                stack.push_async_callback(nats.close)
                await nats.ensure_stream(settings.service_name)
                await nats.connect(wait_seconds=BROKER_CONNECT_WAIT_SECONDS)
                publisher = nats
            relay = OutboxRelay(
                database,
                publisher,
                schemas=schemas,
                poll_seconds=settings.outbox_poll_seconds,
                metrics=app.state.metrics,
            )
            app.state.relay = relay

            def uow() -> UnitOfWork:
                return SqlUnitOfWork(database.sessions, on_events_committed=relay.wake)

            app.state.uow = uow
            app.state.catalog = catalog
            the_inventory, the_payments = inventory, payments
            # One breaker, bulkhead and retry budget per upstream, counted in the app's metrics.
            policy = UpstreamPolicy.from_settings(settings)
            metrics = getattr(app.state, "metrics", None)
            if catalog is None or inventory is None:
                products = ServiceClient(
                    "products",
                    settings.products_url,
                    timeout_seconds=settings.products_timeout_seconds,
                    policy=policy,
                    metrics=metrics,
                )
                stack.push_async_callback(products.close)
                app.state.catalog = catalog or HttpCatalog(products)
                the_inventory = inventory or HttpInventory(products)
            if the_payments is None:
                payments_client = ServiceClient(
                    "payments",
                    settings.payments_url,
                    timeout_seconds=settings.payments_timeout_seconds,
                    policy=policy,
                    metrics=metrics,
                )
                stack.push_async_callback(payments_client.close)
                the_payments = HttpPayments(payments_client)
            assert the_inventory is not None
            runner = SagaRunner(
                uow=uow,
                inventory=the_inventory,
                payments=the_payments,
                owner=_runner_identity(settings),
                lease_seconds=settings.saga_lease_seconds,
                metrics=metrics,
            )
            driver = SagaDriver(
                runner,
                uow=uow,
                sweep_seconds=settings.saga_sweep_seconds,
                concurrency=settings.saga_concurrency,
            )
            app.state.saga_runner = runner
            app.state.saga_driver = driver
            app.state.kick_saga = driver.kick if start_background else (lambda _order_id: None)
            if start_background:
                relay.start()
                stack.push_async_callback(relay.stop)
                # No readiness check on the broker: orders are taken and sagas run without it
                # (the outbox keeps the events, the sweeper replaces the consumer's kicks).
                if nats is not None:

                    async def on_order_placed(event: CloudEvent, _: AsyncSession | None) -> None:
                        # Idempotent without an inbox: a saga already past its first step (or
                        # leased elsewhere) is simply not claimed; one this process is running
                        # already (its kick) is not even tried.
                        await driver.advance_unless_running(uuid.UUID(str(event.data["orderId"])))

                    consumer = EventConsumer(
                        nats,
                        name=SAGA_CONSUMER,
                        stream_service=settings.service_name,
                        types=[ORDER_PLACED],
                        handler=on_order_placed,
                        schemas=schemas,
                        max_deliver=settings.consumer_max_deliver,
                        metrics=metrics,
                    )
                    consumer.start()
                    stack.push_async_callback(consumer.stop)
                driver.start()  # its first sweep resumes whatever a previous process left
                stack.push_async_callback(driver.stop)
            yield

    return create_service_app(
        settings,
        title="Bazaar orders",
        description="Orders: priced from the catalog, then reserved and paid for by a saga.",
        routers=[router],
        lifespan=lifespan,
        token_verifier=token_verifier or TokenVerifier.from_settings(settings),
    )


def openapi_document() -> dict[str, Any]:
    settings = Settings(
        database_url="postgresql+asyncpg://placeholder@localhost/placeholder",
        jwks_url="http://localhost/.well-known/jwks.json",
        products_url="http://localhost",
        payments_url="http://localhost",
        nats_url="nats://localhost:4222",
        # Must exist (the setting is checked); never read while building the document.
        event_schemas_dir=Path(__file__).parent,
    )
    return create_app(settings).openapi()
