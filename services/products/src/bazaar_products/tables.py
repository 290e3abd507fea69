"""The products service's tables (SQLAlchemy Core); migrations/versions creates them."""

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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)

metadata = MetaData()

products = Table(
    "products",
    metadata,
    Column("product_id", Uuid, primary_key=True),
    Column("sku", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("price", Numeric(10, 2, asdecimal=True), nullable=False),
    Column("currency", CHAR(3), nullable=False, server_default=text("'USD'")),
    Column("inventory", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("price > 0", name="products_price_positive"),
    CheckConstraint("inventory >= 0", name="products_inventory_non_negative"),
    # The listing's keyset order: (name, product_id).
    Index("products_name_id_idx", "name", "product_id"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('RESERVED', 'RELEASED')", name="reservations_status_known"),
)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column("order_id", Uuid, ForeignKey("reservations.order_id"), nullable=False),
    Column("product_id", Uuid, ForeignKey("products.product_id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("order_id", "product_id"),
    CheckConstraint("quantity > 0", name="reservation_lines_quantity_positive"),
)
