"""The orders database (SQLAlchemy Core). Migrations in ``migrations/versions`` create it."""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=False),
    Column("total_amount", Numeric(10, 2), nullable=False),
    Column("currency", CHAR(3), nullable=False, server_default=text("'USD'")),
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("rejection_reason", String(32), nullable=True),
    CheckConstraint(
        "status IN ('PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED')", name="orders_status_valid"
    ),
    CheckConstraint("total_amount >= 0", name="orders_total_not_negative"),
)
# A customer's listing reads this index in order: (created_at desc, order_id desc) is the keyset.
Index(
    "orders_customer_listing_idx",
    orders.c.customer_id,
    orders.c.created_at.desc(),
    orders.c.order_id.desc(),
)
Index("orders_status_idx", orders.c.status)

order_items = Table(
    "order_items",
    metadata,
    Column("item_id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.order_id", ondelete="CASCADE"), nullable=False),
    # The line's position in the order as placed, so items read back in the customer's order.
    Column("line_no", SmallInteger, nullable=False),
    Column("product_id", Uuid, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(10, 2), nullable=False),
    CheckConstraint("quantity BETWEEN 1 AND 100", name="order_items_quantity_range"),
    CheckConstraint("unit_price >= 0", name="order_items_unit_price_not_negative"),
    # Also the index behind the foreign key: every read of an order's items starts here.
    UniqueConstraint("order_id", "line_no", name="order_items_order_line_key"),
)

# Written in the same transaction as the order it drives (see saga.py for the states).
order_sagas = Table(
    "order_sagas",
    metadata,
    Column(
        "order_id",
        Uuid,
        ForeignKey("orders.order_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("state", String(32), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_owner", Text, nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("deadline_at", DateTime(timezone=True), nullable=False),
    Column("payment_token", String(64), nullable=False),
    Column("rejection_reason", String(32), nullable=True),
    Column("rejection_detail", Text, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("traceparent", String(55), nullable=True),
)
TERMINAL_SAGA_STATES_SQL = "state NOT IN ('DONE', 'REJECTED', 'CANCELLED')"
# The sweeper's question, "which unfinished sagas are due?", reads only unfinished rows.
Index(
    "order_sagas_due_idx",
    order_sagas.c.next_attempt_at,
    postgresql_where=text(TERMINAL_SAGA_STATES_SQL),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("customer_id", Uuid, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("order_id", Uuid, ForeignKey("orders.order_id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
