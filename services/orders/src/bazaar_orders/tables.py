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
