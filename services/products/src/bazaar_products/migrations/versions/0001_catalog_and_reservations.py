"""Catalog and stock reservations.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("product_id", sa.Uuid(), primary_key=True),
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False, server_default=sa.text("'USD'")),
        sa.Column("inventory", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("sku", name="products_sku_key"),
        sa.CheckConstraint("price > 0", name="products_price_positive"),
        sa.CheckConstraint("inventory >= 0", name="products_inventory_non_negative"),
    )
    op.create_index("products_name_id_idx", "products", ["name", "product_id"])
    op.create_table(
        "reservations",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("status IN ('RESERVED', 'RELEASED')", name="reservations_status_known"),
    )
    op.create_table(
        "reservation_lines",
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("reservations.order_id"), nullable=False),
        sa.Column("product_id", sa.Uuid(), sa.ForeignKey("products.product_id"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "product_id"),
        sa.CheckConstraint("quantity > 0", name="reservation_lines_quantity_positive"),
    )


def downgrade() -> None:
    op.drop_table("reservation_lines")
    op.drop_table("reservations")
    op.drop_index("products_name_id_idx", table_name="products")
    op.drop_table("products")
